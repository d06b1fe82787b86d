//! `report.html`: the instructor's report, self-contained (no external requests).

use crate::export::Class;

pub fn render(class: &Class) -> String {
    let mut html = format!("<!doctype html><meta charset=utf-8><title>{} report</title>\n", class.key.course_code);
    for r in &class.students {
        html.push_str(&format!("<p>{} {}</p>\n", r.student, r.score()));
    }
    html
}

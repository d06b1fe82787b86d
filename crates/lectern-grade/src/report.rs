//! `report.html`: the instructor's report, one self-contained page (inline CSS, inline
//! SVG, no scripts, no external requests) that opens from disk and prints.
//!
//! It shows the score distribution, the item analysis of [`crate::stats`] (facility,
//! spread, discrimination), per item what its kind adds (options chosen, rubric items
//! hit, cases passed and the verdicts of failures), the answers flagged for review with
//! links to each student's `students/<id>/results.json`, the overrides applied and
//! unused, the error rows and the notes on hand-ins.
//!
//! Every piece of student or author text is escaped. The page depends on the class
//! alone (no clock, no hash order, fixed number formats), so the same class gives the
//! same bytes.

use std::fmt::Write;

use crate::answers::valid_student_id;
use crate::export::Class;
use crate::quiz::number;
use crate::stats::{Bin, Breakdown, ClassStats, ItemStats, WEAK_DISCRIMINATION};

/// How much of a flagged answer the report quotes.
const QUOTE_CHARS: usize = 200;

const CSS: &str = "
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#2f6fb3;--good:#1a7f37;--warn:#9a6700;--warn-bg:#fff8c5;--bad:#cf222e}
*{box-sizing:border-box}
body{margin:0 auto;max-width:64rem;padding:1.5rem;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans TC',sans-serif;color:var(--ink);background:#fff}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.25rem;margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.5rem 0 .4rem}
.course{color:var(--muted);margin:0 0 1rem}
.figures{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:0;padding:.75rem 1rem;background:var(--soft);border:1px solid var(--line);border-radius:6px}
.figures div{min-width:7rem}
.figures dt{font-size:.8rem;color:var(--muted)}
.figures dd{margin:0;font-size:1.15rem;font-weight:600;font-variant-numeric:tabular-nums}
nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:1rem 0 0;list-style:none;font-size:.9rem}
a{color:var(--accent)}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.correct td{background:#dafbe1}
.mark{font-size:.75rem;font-weight:600;padding:0 .3rem;border-radius:3px;white-space:nowrap}
.mark.ok{color:var(--good);border:1px solid var(--good)}
.mark.warn{color:var(--warn);border:1px solid var(--warn)}
.mark.bad{color:var(--bad);border:1px solid var(--bad)}
td.weak{background:var(--warn-bg)}
.bar{display:inline-block;width:6rem;height:.6rem;background:var(--soft);border:1px solid var(--line);margin-right:.4rem;vertical-align:middle}
.bar span{display:block;height:100%;background:var(--accent)}
.muted,.note{color:var(--muted)}
.note{font-size:.85rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
svg{max-width:100%;height:auto;display:block}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
svg .axis{stroke:var(--muted);stroke-width:1}
svg .grid{stroke:var(--line);stroke-width:1}
svg rect.bin{fill:var(--accent)}
ul.verdicts{margin:.25rem 0;padding-left:1.25rem}
@media print{body{max-width:none;padding:0;font-size:11pt}nav{display:none}h2,h3{break-after:avoid}tr,figure,svg{break-inside:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}a{color:inherit}}
";

/// The whole page for `class`.
pub fn render(class: &Class) -> String {
    let stats = ClassStats::of(class);
    let mut h = String::with_capacity(16 * 1024);
    let code = &class.key.course_code;
    let title = &class.key.course_title;
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — grading report</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&course_name(code, title))
    );
    header(&mut h, class, &stats);
    distribution(&mut h, &stats);
    item_table(&mut h, &stats);
    item_details(&mut h, class, &stats);
    flagged(&mut h, class);
    groups(&mut h, class);
    similarity(&mut h, class);
    overrides(&mut h, class);
    errors(&mut h, class);
    notes(&mut h, class);
    h.push_str("</body>\n</html>\n");
    h
}

pub(crate) fn course_name(code: &str, title: &str) -> String {
    match (code.is_empty(), title.is_empty()) {
        (false, false) => format!("{code} · {title}"),
        (false, true) => code.to_owned(),
        (true, false) => title.to_owned(),
        (true, true) => "Course".to_owned(),
    }
}

fn header(h: &mut String, class: &Class, stats: &ClassStats) {
    let _ = writeln!(h, "<header>\n<h1>Grading report</h1>\n<p class=\"course\">{}</p>", esc(&course_name(&class.key.course_code, &class.key.course_title)));
    h.push_str("<dl class=\"figures\">\n");
    let mut figure = |label: &str, value: String| {
        let _ = writeln!(h, "<div><dt>{label}</dt><dd>{value}</dd></div>");
    };
    figure("Students graded", stats.students.to_string());
    figure("Error rows", stats.errors.to_string());
    figure("Points possible", number(stats.max_total));
    match &stats.summary {
        Some(s) => {
            figure("Mean total", fixed(s.mean, 2));
            figure("Median total", fixed(s.median, 2));
            figure("Standard deviation", s.sd.map_or_else(dash, |sd| fixed(sd, 2)));
            figure("Lowest – highest", format!("{} – {}", number(s.min), number(s.max)));
        }
        None => {
            figure("Mean total", dash());
            figure("Median total", dash());
        }
    }
    h.push_str("</dl>\n");
    if !class.key.fingerprint.is_empty() {
        let _ = writeln!(h, "<p class=\"note\">Graded under answer key <code>{}</code>. Error rows are left out of every statistic.</p>", esc(&class.key.fingerprint));
    }
    if let Some(environment) = &class.environment {
        let _ = writeln!(h, "<p class=\"note\">Code run with {}.</p>", esc(environment));
    }
    h.push_str(
        "<nav aria-label=\"Contents\"><ul><li><a href=\"#distribution\">Distribution</a></li><li><a href=\"#items\">Item analysis</a></li><li><a href=\"#details\">Item details</a></li><li><a href=\"#review\">Flagged for review</a></li><li><a href=\"#groups\">Answer groups</a></li><li><a href=\"#similarity\">Similarity</a></li><li><a href=\"#overrides\">Overrides</a></li><li><a href=\"#errors\">Error rows</a></li><li><a href=\"#notes\">Notes</a></li></ul></nav>\n</header>\n",
    );
}

fn distribution(h: &mut String, stats: &ClassStats) {
    h.push_str("<section id=\"distribution\">\n<h2>Score distribution</h2>\n");
    if stats.students == 0 {
        h.push_str("<p class=\"muted\">No graded hand-ins.</p>\n</section>\n");
        return;
    }
    h.push_str(&histogram_svg(&stats.histogram, stats.max_total, stats.students));
    h.push_str("</section>\n");
}

/// The distribution as an inline SVG bar chart: bars labelled with their counts, both
/// axes labelled, a `<title>` for the chart and for each bar.
pub fn histogram_svg(bins: &[Bin], max_total: f64, students: usize) -> String {
    const W: f64 = 720.0;
    const H: f64 = 300.0;
    const LEFT: f64 = 56.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 24.0;
    const BOTTOM: f64 = 56.0;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let top_count = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    // Whole-number ticks, at most about five of them.
    let step = top_count.div_ceil(5).max(1);
    let y_max = top_count.div_ceil(step) * step;
    let y = |count: usize| TOP + ph - ph * count as f64 / y_max as f64;
    let slot = pw / bins.len().max(1) as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-labelledby=\"hist-title hist-desc\">\n<title id=\"hist-title\">Distribution of total scores</title>\n<desc id=\"hist-desc\">{students} graded student{} in {} bins over 0 to {} points.</desc>",
        plural(students),
        bins.len(),
        esc(&number(max_total))
    );
    // Grid and y ticks.
    let mut tick = 0;
    while tick <= y_max {
        let ty = y(tick);
        let _ = writeln!(s, "<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{tick}</text>", px(LEFT), px(ty), px(LEFT + pw), px(ty), px(LEFT - 6.0), px(ty + 4.0));
        tick += step;
    }
    for (k, b) in bins.iter().enumerate() {
        let x = LEFT + slot * k as f64;
        let top = y(b.count);
        let range = if k + 1 == bins.len() { format!("{} to {} points", number(b.low), number(b.high)) } else { format!("{} to under {} points", number(b.low), number(b.high)) };
        let _ = writeln!(
            s,
            "<g><title>{}: {} student{}</title><rect class=\"bin\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            esc(&range),
            b.count,
            plural(b.count),
            px(x + 1.0),
            px(top),
            px((slot - 2.0).max(1.0)),
            px(TOP + ph - top),
            px(x + slot / 2.0),
            px(top - 5.0),
            b.count
        );
    }
    // Axes, boundary labels, axis titles.
    let _ = writeln!(s, "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", px(LEFT), px(TOP), px(LEFT), px(TOP + ph));
    let _ = writeln!(s, "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", px(LEFT), px(TOP + ph), px(LEFT + pw), px(TOP + ph));
    let mut edges: Vec<f64> = bins.iter().map(|b| b.low).collect();
    edges.extend(bins.last().map(|b| b.high));
    for (k, edge) in edges.iter().enumerate() {
        let x = LEFT + slot * k as f64;
        let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px(x), px(TOP + ph + 16.0), esc(&number(*edge)));
    }
    let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">Total score (points, of {})</text>", px(LEFT + pw / 2.0), px(H - 12.0), esc(&number(max_total)));
    let _ = writeln!(s, "<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">Students</text>", px(TOP + ph / 2.0), px(TOP + ph / 2.0));
    s.push_str("</svg>\n");
    s
}

fn item_table(h: &mut String, stats: &ClassStats) {
    h.push_str("<section id=\"items\">\n<h2>Item analysis</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">Facility: mean score as a percentage of the maximum. SD: sample standard deviation of the item's scores. Discrimination: correlation (Pearson r) of the item's score with the rest of the test's, over students; below {} or negative is marked weak, and it is undefined (—) with fewer than two students or when every student scored the same on the item or on the rest.</p>",
        fixed(WEAK_DISCRIMINATION, 1)
    );
    if stats.items.is_empty() {
        h.push_str("<p class=\"muted\">The key has no items.</p>\n</section>\n");
        return;
    }
    h.push_str("<table>\n<thead><tr><th>Item</th><th>Kind</th><th class=\"num\">Max</th><th class=\"num\">Mean</th><th class=\"num\">Facility</th><th class=\"num\">SD</th><th class=\"num\">Discrimination</th></tr></thead>\n<tbody>\n");
    for (i, item) in stats.items.iter().enumerate() {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#item-{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}</tr>",
            i + 1,
            esc(&item.id),
            esc(&item.kind),
            number(item.max_points),
            item.mean.map_or_else(dash, |m| fixed(m, 2)),
            item.facility.map_or_else(dash, |f| format!("{}%", fixed(f, 1))),
            item.sd.map_or_else(dash, |sd| fixed(sd, 2)),
            discrimination_cell(item)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn discrimination_cell(item: &ItemStats) -> String {
    match item.discrimination {
        None => format!("<td class=\"num\" title=\"undefined\">{}</td>", dash()),
        Some(d) if d < 0.0 => format!("<td class=\"num weak\">{} <span class=\"mark bad\">negative</span></td>", fixed(d, 2)),
        Some(d) if item.weak_discrimination() => format!("<td class=\"num weak\">{} <span class=\"mark warn\">weak</span></td>", fixed(d, 2)),
        Some(d) => format!("<td class=\"num\">{}</td>", fixed(d, 2)),
    }
}

fn item_details(h: &mut String, class: &Class, stats: &ClassStats) {
    h.push_str("<section id=\"details\">\n<h2>Item details</h2>\n");
    for (i, item) in stats.items.iter().enumerate() {
        let lesson = class.key.items.get(i).and_then(|s| s.lesson.as_deref());
        let _ = writeln!(h, "<h3 id=\"item-{}\">{}</h3>", i + 1, esc(&item.id));
        let _ = writeln!(
            h,
            "<p class=\"note\">{}{} · {} point{} · mean {} · facility {}</p>",
            esc(&item.kind),
            lesson.map_or_else(String::new, |l| format!(" · lesson {}", esc(l))),
            number(item.max_points),
            if item.max_points == 1.0 { "" } else { "s" },
            item.mean.map_or_else(dash, |m| fixed(m, 2)),
            item.facility.map_or_else(dash, |f| format!("{}%", fixed(f, 1)))
        );
        match &item.breakdown {
            Breakdown::None => h.push_str("<p class=\"muted\">Scores only for this kind of question.</p>\n"),
            Breakdown::Choice(c) => {
                h.push_str("<table>\n<thead><tr><th>Option</th><th>Text</th><th>Key</th><th class=\"num\">Students</th><th>Share</th></tr></thead>\n<tbody>\n");
                for o in &c.options {
                    let mark = if o.correct { "<span class=\"mark ok\">✓ correct</span>" } else { "<span class=\"muted\">distractor</span>" };
                    let _ = writeln!(
                        h,
                        "<tr{}><td>{}</td><td>{}</td><td>{mark}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                        if o.correct { " class=\"correct\"" } else { "" },
                        esc(&o.letter.to_string()),
                        esc(&o.text),
                        o.count,
                        share(o.percent)
                    );
                }
                let n = stats.students;
                let _ = writeln!(h, "<tr><td colspan=\"3\" class=\"muted\">No answer</td><td class=\"num\">{}</td><td>{}</td></tr>", c.no_answer, share(crate::stats::percent(c.no_answer, n)));
                if c.invalid > 0 {
                    let _ = writeln!(h, "<tr><td colspan=\"3\" class=\"muted\">Not an option</td><td class=\"num\">{}</td><td>{}</td></tr>", c.invalid, share(crate::stats::percent(c.invalid, n)));
                }
                h.push_str("</tbody>\n</table>\n");
                if item.kind == "multiple choice" {
                    h.push_str("<p class=\"note\">A student counts once for each option chosen.</p>\n");
                }
            }
            Breakdown::Rubric(rubric) => {
                if rubric.is_empty() {
                    h.push_str("<p class=\"muted\">This step has no rubric items.</p>\n");
                    continue;
                }
                h.push_str("<table>\n<thead><tr><th class=\"num\">#</th><th>Rubric item (feedback when missed)</th><th class=\"num\">Points</th><th class=\"num\">Earned by</th><th>Hit rate</th></tr></thead>\n<tbody>\n");
                for (k, r) in rubric.iter().enumerate() {
                    let feedback = if r.feedback.is_empty() { "<span class=\"muted\">(no feedback)</span>".to_owned() } else { esc(&r.feedback) };
                    let _ = writeln!(h, "<tr><td class=\"num\">{}</td><td>{feedback}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>", k + 1, number(r.points), r.hits, share(r.rate));
                }
                h.push_str("</tbody>\n</table>\n");
            }
            Breakdown::Exercise(e) => {
                if e.cases.is_empty() {
                    h.push_str("<p class=\"muted\">This exercise has no cases.</p>\n");
                } else {
                    h.push_str("<table>\n<thead><tr><th>Case</th><th class=\"num\">Passed by</th><th>Pass rate</th></tr></thead>\n<tbody>\n");
                    for c in &e.cases {
                        let _ = writeln!(h, "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>", esc(&c.name), c.passed, share(c.rate));
                    }
                    h.push_str("</tbody>\n</table>\n");
                }
                if e.not_run > 0 {
                    let _ = writeln!(h, "<p class=\"note\">{} student{} had no code run (no file, or it could not be run); their cases count as failed.</p>", e.not_run, plural(e.not_run));
                }
                if e.failures.is_empty() {
                    h.push_str("<p class=\"note\">No failed cases.</p>\n");
                } else {
                    h.push_str("<p class=\"note\">Most common failure verdicts (failed cases):</p>\n<ul class=\"verdicts\">\n");
                    for (verdict, count) in &e.failures {
                        let _ = writeln!(h, "<li><code>{}</code> — {count}</li>", esc(verdict));
                    }
                    h.push_str("</ul>\n");
                }
            }
        }
    }
    h.push_str("</section>\n");
}

fn flagged(h: &mut String, class: &Class) {
    h.push_str("<section id=\"review\">\n<h2>Flagged for review</h2>\n");
    let rows: Vec<_> = class.graded().flat_map(|r| r.results.iter().filter(|x| x.flag.is_some()).map(move |x| (r, x))).collect();
    if rows.is_empty() {
        h.push_str("<p class=\"muted\">No answer is flagged.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(h, "<p class=\"note\">{} answer{} where the grade may be uncertain. Set a grade with <code>overrides.toml</code> beside this report.</p>", rows.len(), plural(rows.len()));
    h.push_str("<table>\n<thead><tr><th>Student</th><th>Item</th><th>Why</th><th>Answer</th><th class=\"num\">Score</th><th>Feedback</th></tr></thead>\n<tbody>\n");
    for (r, x) in rows {
        let why = x.flag.as_deref().unwrap_or_default();
        let settled = x.overridden.as_ref().map_or_else(String::new, |c| format!("<br><span class=\"mark ok\">overridden</span> {}", esc(c)));
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}{settled}</td><td>{}</td><td class=\"num\">{} / {}</td><td>{}</td></tr>",
            esc(&r.student),
            esc(&x.item),
            esc(why),
            quote(&x.answer),
            number(x.score),
            number(x.max_score),
            feedback_link(&r.student)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// The similarity review in brief, with the link to `similarity.html`.
fn similarity(h: &mut String, class: &Class) {
    h.push_str("<section id=\"similarity\">\n<h2>Similarity</h2>\n");
    let Some(s) = &class.similarity else {
        h.push_str("<p class=\"muted\">No similarity review was made for this report.</p>\n</section>\n");
        return;
    };
    let pairs: usize = s.items.iter().map(|(_, p, _)| p).sum();
    let groups: usize = s.items.iter().map(|(_, _, g)| g).sum();
    let threshold = if s.threshold == 0.0 { "0".to_owned() } else { format!("{}", s.threshold) };
    let _ = writeln!(
        h,
        "<p>{pairs} pair{} and {groups} group{} of three or more hand-ins share {threshold} or more of their work: see <a href=\"similarity.html\">similarity.html</a>, with both sides and the shared fragments. For review, not a verdict; students never see it.</p>",
        plural(pairs),
        plural(groups)
    );
    if !s.items.is_empty() {
        h.push_str("<table>\n<thead><tr><th>Item</th><th class=\"num\">Pairs</th><th class=\"num\">Groups of 3+</th></tr></thead>\n<tbody>\n");
        for (item, p, g) in &s.items {
            let _ = writeln!(h, "<tr><td>{}</td><td class=\"num\">{p}</td><td class=\"num\">{g}</td></tr>", esc(item));
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

/// Each step's answers in groups of near-identical ones ([`crate::groups`]), the
/// largest first, each with the `[[group]]` that grades the whole group.
fn groups(h: &mut String, class: &Class) {
    h.push_str("<section id=\"groups\">\n<h2>Answer groups</h2>\n");
    let steps: Vec<_> = class.key.items.iter().filter(|i| i.kind == "challenge step").collect();
    if steps.is_empty() {
        h.push_str("<p class=\"muted\">The course has no challenge steps.</p>\n</section>\n");
        return;
    }
    h.push_str("<p class=\"note\">Near-identical answers to a step (the same words, give or take punctuation, case, spacing and a changed word or two) form a group: read one answer, and grade the whole group by copying its <code>[[group]]</code> into <code>overrides.toml</code> with the points and comment you choose. A student's own <code>[[override]]</code> wins over a group.</p>\n");
    for item in steps {
        let answers: Vec<(&str, &crate::ItemResult)> =
            class.graded().filter_map(|r| r.results.iter().find(|x| x.item == item.id).map(|x| (r.student.as_str(), x))).filter(|(_, x)| !x.answer.trim().is_empty()).collect();
        let texts: Vec<&str> = answers.iter().map(|(_, x)| x.answer.as_str()).collect();
        let mut groups = crate::groups::group(&texts);
        groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
        let shared: Vec<_> = groups.iter().filter(|g| g.len() > 1).collect();
        let _ = writeln!(h, "<h3>{}</h3>\n<p class=\"note\">{} answer{} in {} group{}; {} group{} of two or more.</p>", esc(&item.id), answers.len(), plural(answers.len()), groups.len(), plural(groups.len()), shared.len(), plural(shared.len()));
        if shared.is_empty() {
            continue;
        }
        h.push_str("<table>\n<thead><tr><th class=\"num\">Students</th><th>Answer (first of the group)</th><th class=\"num\">Scores</th><th>Who</th><th>Grade the group</th></tr></thead>\n<tbody>\n");
        for members in shared {
            let (_, first) = answers[members[0]];
            let scores: Vec<f64> = members.iter().map(|m| answers[*m].1.score).collect();
            let (low, high) = scores.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, hi), s| (l.min(*s), hi.max(*s)));
            let range = if low == high { number(low) } else { format!("{}–{}", number(low), number(high)) };
            let who: Vec<String> = members.iter().map(|m| esc(answers[*m].0)).collect();
            let snippet = format!(
                "[[group]]\nitem = {}\nanswer = {}\npoints = {}\ncomment = \"\"",
                toml::Value::String(item.id.clone()),
                toml::Value::String(first.answer.clone()),
                number(first.score)
            );
            let _ = writeln!(
                h,
                "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{range} / {}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                members.len(),
                quote(&first.answer),
                number(item.max_points),
                who.join(", "),
                esc(&snippet)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

fn overrides(h: &mut String, class: &Class) {
    h.push_str("<section id=\"overrides\">\n<h2>Overrides</h2>\n");
    let applied: Vec<_> = class.graded().flat_map(|r| r.results.iter().filter_map(move |x| x.overridden.as_ref().map(|c| (r, x, c)))).collect();
    if applied.is_empty() {
        h.push_str("<p class=\"muted\">No override applied.</p>\n");
    } else {
        let _ = writeln!(h, "<h3>Applied ({})</h3>", applied.len());
        h.push_str("<table>\n<thead><tr><th>Student</th><th>Item</th><th class=\"num\">Points</th><th>Comment</th><th>Feedback</th></tr></thead>\n<tbody>\n");
        for (r, x, comment) in applied {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{} / {}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.student),
                esc(&x.item),
                number(x.score),
                number(x.max_score),
                esc(comment),
                feedback_link(&r.student)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if !class.unused_overrides.is_empty() {
        let _ = writeln!(h, "<h3>Unused ({})</h3>\n<p class=\"note\">These name no graded hand-in (an unknown student, or one whose hand-in is an error row); they change nothing.</p>", class.unused_overrides.len());
        h.push_str("<table>\n<thead><tr><th>Student</th><th>Item</th><th class=\"num\">Points</th><th>Comment</th></tr></thead>\n<tbody>\n");
        for o in &class.unused_overrides {
            let _ = writeln!(h, "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>", esc(&o.student), esc(&o.item), number(o.points), esc(&o.comment));
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

fn errors(h: &mut String, class: &Class) {
    h.push_str("<section id=\"errors\">\n<h2>Error rows</h2>\n");
    let rows: Vec<_> = class.students.iter().filter_map(|r| r.error.as_ref().map(|e| (r, e))).collect();
    if rows.is_empty() {
        h.push_str("<p class=\"muted\">Every hand-in was graded.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(h, "<p class=\"note\">{} hand-in{} could not be graded; each student's <code>results.json</code> says why.</p>", rows.len(), plural(rows.len()));
    h.push_str("<table>\n<thead><tr><th>Student</th><th>Folder</th><th>Message</th></tr></thead>\n<tbody>\n");
    for (r, e) in rows {
        let _ = writeln!(h, "<tr><td>{}</td><td><code>{}</code></td><td><pre>{}</pre></td></tr>", esc(&r.student), esc(&r.source), esc(e));
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn notes(h: &mut String, class: &Class) {
    h.push_str("<section id=\"notes\">\n<h2>Notes on hand-ins</h2>\n");
    let rows: Vec<_> = class.students.iter().flat_map(|r| r.notes.iter().map(move |n| (r, n))).collect();
    if rows.is_empty() {
        h.push_str("<p class=\"muted\">None.</p>\n</section>\n");
        return;
    }
    h.push_str("<table>\n<thead><tr><th>Student</th><th>Folder</th><th>Note</th></tr></thead>\n<tbody>\n");
    for (r, n) in rows {
        let _ = writeln!(h, "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>", esc(&r.student), esc(&r.source), esc(n));
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// A relative link to the student's feedback, where the exports write one.
fn feedback_link(student: &str) -> String {
    if valid_student_id(student) {
        format!("<a href=\"students/{}/results.json\">results.json</a>", esc(&path_segment(student)))
    } else {
        "<span class=\"muted\">none</span>".to_owned()
    }
}

/// `s` percent-encoded for one URL path segment (a valid ID may hold any letter).
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~' | b'@') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An answer quoted for the review list: trimmed, capped, escaped.
fn quote(answer: &str) -> String {
    let answer = answer.trim();
    if answer.is_empty() {
        return "<span class=\"muted\">(empty)</span>".to_owned();
    }
    let mut cut: String = answer.chars().take(QUOTE_CHARS).collect();
    if answer.chars().nth(QUOTE_CHARS).is_some() {
        cut.push('…');
    }
    format!("<pre>{}</pre>", esc(&cut))
}

/// A percentage with a small bar, or a dash when there is no one to count.
fn share(percent: Option<f64>) -> String {
    match percent {
        Some(p) => format!("<span class=\"bar\" aria-hidden=\"true\"><span style=\"width:{}%\"></span></span>{}%", fixed(p.clamp(0.0, 100.0), 1), fixed(p, 1)),
        None => dash(),
    }
}

/// HTML-escapes text for element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Control characters (a terminal escape in a folder's name) and bidirectional
    // overrides (which reorder what a reader sees, as in "Trojan Source") show as U+FFFD;
    // a carriage return (Windows line ends) stays, as HTML reads it as a line end.
    let hidden = |c: char| (c.is_control() && !matches!(c, '\n' | '\t' | '\r')) || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let visible: String;
    let s = if s.chars().any(hidden) {
        visible = s.chars().map(|c| if hidden(c) { '\u{fffd}' } else { c }).collect();
        visible.as_str()
    } else {
        s
    };
    // Writing into a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, s);
    out
}

/// `x` with `decimals` places, never `-0.00`.
fn fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') { s[1..].to_owned() } else { s }
}

/// SVG coordinates: one decimal, stable.
fn px(x: f64) -> String {
    fixed(x, 1)
}

fn dash() -> String {
    "—".to_owned()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(esc("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
        assert_eq!(esc("\u{1b}[31mred\u{7}"), "\u{fffd}[31mred\u{fffd}");
        assert_eq!(esc("a\u{202e}b\u{2066}c\r\n"), "a\u{fffd}b\u{fffd}c\r\n");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(-0.5, 2), "-0.50");
        assert_eq!(path_segment("zoë@x.y"), "zo%C3%AB@x.y");
    }
}

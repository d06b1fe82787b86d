//! Parses the seed lesson many times, for profilers: `profile_parse [lectern|pulldown|pulldown-offsets] [N]`.
use std::path::Path;
fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "lectern".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let seed = std::fs::read_to_string(root.join("courses/ai012/lessons/02-llm-architectures.md")).expect("seed");
    for _ in 0..n {
        if mode == "pulldown-offsets" {
            let events = pulldown_cmark::Parser::new_ext(&seed, lectern_lesson::markdown::options()).into_offset_iter().count();
            std::hint::black_box(events);
        } else if mode == "pulldown" {
            let events = pulldown_cmark::Parser::new_ext(&seed, lectern_lesson::markdown::options()).count();
            std::hint::black_box(events);
        } else {
            std::hint::black_box(lectern_lesson::parse_lesson("x", Path::new("x.md"), &seed));
        }
    }
}

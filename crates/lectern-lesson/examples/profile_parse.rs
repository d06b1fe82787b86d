//! Parses the seed lesson many times, for profilers (`perf record`).
use std::path::Path;
fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let seed = std::fs::read_to_string(root.join("courses/ai012/lessons/02-llm-architectures.md")).expect("seed");
    for _ in 0..5000 {
        std::hint::black_box(lectern_lesson::parse_lesson("x", Path::new("x.md"), &seed));
    }
}

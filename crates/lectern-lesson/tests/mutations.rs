//! Arbitrary input never panics the parser, and every diagnostic points inside its file.
//!
//! A seeded mutation fuzzer: lessons from the repository are cut, spliced, and sprinkled
//! with the tokens the format cares about, then parsed. `LECTERN_FUZZ_ITERS` sets how
//! many mutants (default 3000); `LECTERN_FUZZ_SECONDS` runs for a wall-clock budget
//! instead; `LECTERN_FUZZ_SEED` picks another seed. A failing input is written to
//! `target/fuzz-failure.md`.

use std::panic;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lectern_lesson::parse_lesson;

const TOKENS: &[&str] = &[
    ":::", "::: quiz q1", "::: quiz q2 {type=numeric answer=", "::: quiz q3 {type=text accept=\"/a|b/|c\"}",
    "::: challenge c", "::: step", "::: step s1", "::: solution", "::: rubric", "::: cards", "::: explanation",
    "::: exercise e", "::: bogus", ":::\n", "::: {", "{type=", "\"", "$$", "$", "\\frac{", "\\sqrt{d_k}", "}", "{",
    "\\left(", "\\right)", "```", "~~~", "```python src=x.py run\n", "```python file=a.py run\n", "+++", "+++\n",
    "title = ", "> [!TIP]", "> [!TIP] Title", "> [!", "> ", "- [x] ", "- [ ] ", "- 2: ", "- x: ", "`/(/`", "`a`",
    "\n", "\n\n", "### ", "## ", "\r\n", "\u{feff}", "é", "僅解碼器", "\t", "    ", "[^1]", "[^1]: note\n",
    "|a|b|\n|-|-|\n", "<div>", "*", "_", "\\", "1. ", "* [x] ", "{#id .class}",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["courses", "tests/fixtures", "templates/new-course"] {
        for entry in walk(&root.join(dir)) {
            if entry.extension().is_some_and(|e| e == "md") {
                files.push(entry);
            }
        }
    }
    files.sort();
    let texts: Vec<String> =
        files.iter().filter_map(|f| std::fs::read(f).ok()).map(|b| String::from_utf8_lossy(&b).into_owned()).collect();
    assert!(texts.len() >= 5, "the corpus is too small: {files:?}");
    texts
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn mutate(rng: &mut Rng, corpus: &[String]) -> String {
    let mut chars: Vec<char> = corpus[rng.below(corpus.len())].chars().collect();
    for _ in 0..=rng.below(8) {
        let at = rng.below(chars.len() + 1);
        match rng.below(6) {
            0 | 1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                chars.splice(at..at, token.chars());
            }
            2 => {
                let end = (at + rng.below(40)).min(chars.len());
                chars.drain(at..end);
            }
            3 => {
                // Splice in a piece of another lesson.
                let other: Vec<char> = corpus[rng.below(corpus.len())].chars().collect();
                let s = rng.below(other.len());
                let e = (s + rng.below(200)).min(other.len());
                chars.splice(at..at, other[s..e].iter().copied());
            }
            4 => {
                let end = (at + rng.below(60)).min(chars.len());
                let piece: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, piece);
            }
            _ => {
                if at < chars.len() {
                    chars[at] = char::from(b" :$`{}[]>\n-#x"[rng.below(13)]);
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_lessons_never_panic_and_spans_stay_in_bounds() {
    let corpus = corpus();
    let seed: u64 = std::env::var("LECTERN_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x1ec7e2);
    let iters: usize = std::env::var("LECTERN_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    let budget = std::env::var("LECTERN_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).map(Duration::from_secs);
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let mut done = 0usize;
    let mut with_errors = 0usize;
    loop {
        match budget {
            Some(b) if started.elapsed() >= b => break,
            None if done >= iters => break,
            _ => {}
        }
        let text = mutate(&mut rng, &corpus);
        let result = panic::catch_unwind(|| parse_lesson("fuzz", Path::new("fuzz.md"), &text));
        let failure = match &result {
            Err(_) => Some("the parser panicked".to_string()),
            Ok(parsed) => parsed
                .diagnostics
                .iter()
                .find(|d| {
                    d.span.start > d.span.end
                        || d.span.end > text.len()
                        || !text.is_char_boundary(d.span.start)
                        || !text.is_char_boundary(d.span.end)
                })
                .map(|d| format!("diagnostic span {:?} is outside the text or inside a character: {d:?}", d.span)),
        };
        if let Some(why) = failure {
            let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failure.md");
            let _ = std::fs::write(&out, &text);
            panic!("mutant {done} (seed {seed}): {why}; input saved to {}", out.display());
        }
        if result.is_ok_and(|p| p.has_errors()) {
            with_errors += 1;
        }
        done += 1;
    }
    // The mutants must reach the error paths, or this test proves little.
    assert!(with_errors * 4 > done, "only {with_errors} of {done} mutants had errors");
    eprintln!("{done} mutants parsed in {:.1?}, {with_errors} with errors", started.elapsed());
}

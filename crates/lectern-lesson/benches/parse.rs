//! Parser throughput against pulldown-cmark's own parse of the same text.
//!
//! Generates a course of 1,000 seed-sized lessons (the ai012 lesson with unique IDs),
//! then, in one run and alternating rounds, times (a) pulldown-cmark iterating every
//! event of each lesson with Lectern's options and (b) `parse_lesson` building the
//! model and checking every formula. Reports medians, MB/s and the ratio b/a (target:
//! at most 2). Also times `load_course` on the same course written to disk (file reads,
//! `src=` files, cross-lesson checks) for information.
//!
//! Run: `cargo bench -p lectern-lesson --bench parse`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lectern_lesson::{load_course, markdown, parse_lesson};

const LESSONS: usize = 1000;
const ROUNDS: usize = 21;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let seed = std::fs::read_to_string(root.join("courses/ai012/lessons/02-llm-architectures.md")).expect("seed lesson");
    let lessons: Vec<(String, PathBuf, String)> = (0..LESSONS)
        .map(|i| {
            let text = seed
                .replace("::: quiz q1", &format!("::: quiz q1-{i}"))
                .replace("::: quiz q2", &format!("::: quiz q2-{i}"))
                .replace("::: challenge bottleneck", &format!("::: challenge bottleneck-{i}"))
                .replace("lesson = 2", &format!("lesson = {}", i + 1));
            let id = format!("{:04}-lesson", i + 1);
            (id.clone(), PathBuf::from(format!("lessons/{id}.md")), text)
        })
        .collect();
    let bytes: usize = lessons.iter().map(|l| l.2.len()).sum();

    // Sanity: the generated lessons parse clean, so the timing covers the whole model.
    for (id, path, text) in lessons.iter().take(3) {
        let parsed = parse_lesson(id, path, text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    }

    let mut cmark = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..ROUNDS {
        cmark.push(time(|| {
            for (_, _, text) in &lessons {
                let n = pulldown_cmark::Parser::new_ext(text, markdown::options()).count();
                black_box(n);
            }
        }));
        ours.push(time(|| {
            for (id, path, text) in &lessons {
                black_box(parse_lesson(id, path, text));
            }
        }));
    }
    // Each round times both back to back, so the median of the per-round ratios is the
    // figure least disturbed by whatever else the machine is doing.
    let mut ratios: Vec<f64> = cmark.iter().zip(&ours).map(|(c, o)| o.as_secs_f64() / c.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let (c_min, o_min) = (*cmark.iter().min().expect("rounds"), *ours.iter().min().expect("rounds"));
    let (c, o) = (median(&mut cmark), median(&mut ours));
    let mbs = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    println!("corpus: {LESSONS} lessons, {:.1} MB, {ROUNDS} rounds; times are medians", bytes as f64 / 1e6);
    println!("pulldown-cmark events     {:>9.2} ms  {:>7.1} MB/s", ms(c), mbs(c));
    println!("lectern parse_lesson      {:>9.2} ms  {:>7.1} MB/s", ms(o), mbs(o));
    println!(
        "fastest rounds            {:>9.2} ms (pulldown) {:.2} ms (lectern), ratio {:.2}",
        ms(c_min),
        ms(o_min),
        o_min.as_secs_f64() / c_min.as_secs_f64()
    );
    println!("ratio lectern/pulldown    {ratio:>9.2}     (median of per-round ratios; target <= 2.00)");

    // The same course on disk, loaded the way `lectern check` loads it.
    let dir = std::env::temp_dir().join(format!("lectern-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("lessons")).expect("mkdir");
    std::fs::write(dir.join("course.toml"), "code = \"BENCH\"\ntitle = \"Bench\"\n").expect("write");
    let script = std::fs::read(root.join("courses/ai012/lessons/02-llm-architectures/arch_comparison.py")).expect("script");
    for (id, _, text) in &lessons {
        std::fs::write(dir.join("lessons").join(format!("{id}.md")), text).expect("write");
        std::fs::create_dir_all(dir.join("lessons").join(id)).expect("mkdir");
        std::fs::write(dir.join("lessons").join(id).join("arch_comparison.py"), &script).expect("write");
    }
    let mut load = Vec::new();
    for _ in 0..ROUNDS {
        load.push(time(|| {
            let loaded = load_course(&dir);
            assert!(!loaded.has_errors());
            black_box(loaded);
        }));
    }
    let l = median(&mut load);
    println!("load_course (from disk)   {:>9.2} ms  {:>7.1} MB/s", ms(l), mbs(l));
    let _ = std::fs::remove_dir_all(&dir);
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

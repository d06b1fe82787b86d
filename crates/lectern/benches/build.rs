//! `lectern build` against Hugo on the same Markdown, and `lectern serve`'s rebuild after
//! editing one lesson.
//!
//! Generates a course of 1,000 seed-sized lessons (the ai012 lesson with unique IDs and
//! its runnable file) and a Hugo site of the same 1,000 Markdown files (plain content,
//! no theme: two one-line layouts so that Hugo renders every page). In one run,
//! alternating, it times: a fresh build of each into a folder that does not exist, and
//! a rebuild of each over its previous output. Peak memory comes from GNU time
//! (`/usr/bin/time`, Debian's `time`) when present. Then it starts `lectern serve`,
//! edits one lesson five times and reports, for each edit, the time from the write to
//! the new version being served, and the rebuild time serve itself printed (the search
//! index is made again in the background, after the new version is out).
//!
//! The Hugo comparison builds without search (`[site] search = false`: Hugo makes no
//! index either); then the same fresh build with search on gives the search index's
//! cost (Pagefind, Chinese segmented) and its size, and serve's rebuilds run with it.
//!
//! Run: `cargo bench -p lectern --bench build` (Hugo from Debian's `hugo` package).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LESSONS: usize = 1000;
const ROUNDS: usize = 5;
/// The benchmark course; search off for the comparison with Hugo (turned on later).
const COURSE_TOML: &str = "code = \"BENCH\"\ntitle = \"Bench\"\nlanguage = \"zh-Hant\"\n\n[site]\nsearch = false\n";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lectern = PathBuf::from(env!("CARGO_BIN_EXE_lectern"));
    let work = std::env::temp_dir().join(format!("lectern-bench-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (course, hugo_site) = generate(&root, &work);
    let hugo = Command::new("hugo").arg("version").output().is_ok_and(|o| o.status.success());
    let gnu_time = Path::new("/usr/bin/time").exists();
    println!("{LESSONS} lessons; {ROUNDS} rounds; medians");

    let lectern_cmd = |out: &Path| {
        let mut c = Command::new(&lectern);
        c.args(["build", &course.to_string_lossy(), "--out", &out.to_string_lossy()]);
        c
    };
    let hugo_cmd = |out: &Path| {
        let mut c = Command::new("hugo");
        c.args(["--quiet", "-s", &hugo_site.to_string_lossy(), "-d", &out.to_string_lossy()]);
        c
    };
    let (lectern_out, hugo_out) = (work.join("lectern-out"), work.join("hugo-out"));
    for (label, fresh) in [("fresh build (no output folder yet)", true), ("rebuild over the previous output", false)] {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..ROUNDS {
            if fresh {
                let _ = std::fs::remove_dir_all(&lectern_out);
            }
            ours.push(timed(lectern_cmd(&lectern_out), gnu_time));
            if hugo {
                if fresh {
                    let _ = std::fs::remove_dir_all(&hugo_out);
                }
                theirs.push(timed(hugo_cmd(&hugo_out), gnu_time));
            }
        }
        let (ours_s, ours_kib) = median(&mut ours);
        print!("{label}: lectern {ours_s:.3} s, peak {}", kib(ours_kib));
        if hugo {
            let (theirs_s, theirs_kib) = median(&mut theirs);
            println!("; hugo {theirs_s:.3} s, peak {}; ratio lectern/hugo {:.2} (target <= 1.0)", kib(theirs_kib), ours_s / theirs_s);
        } else {
            println!("; hugo not installed (apt-get install hugo), no ratio");
        }
    }
    // The search index's cost: the same fresh build with search on.
    let without = {
        let mut v: Vec<_> = (0..ROUNDS)
            .map(|_| {
                let _ = std::fs::remove_dir_all(&lectern_out);
                timed(lectern_cmd(&lectern_out), gnu_time)
            })
            .collect();
        median(&mut v)
    };
    std::fs::write(course.join("course.toml"), COURSE_TOML.replace("search = false", "search = true")).expect("write");
    let mut with = Vec::new();
    for _ in 0..ROUNDS {
        let _ = std::fs::remove_dir_all(&lectern_out);
        with.push(timed(lectern_cmd(&lectern_out), gnu_time));
    }
    let (with_s, with_kib) = median(&mut with);
    let index_bytes: u64 = walkdir::WalkDir::new(lectern_out.join("pagefind"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok().filter(|m| m.is_file()).map(|m| m.len()))
        .sum();
    println!(
        "fresh build with the search index: {with_s:.3} s, peak {} (without: {:.3} s, peak {}): the index costs {:.3} s, {:.2}x the build without it; {:.1} MiB on disk",
        kib(with_kib),
        without.0,
        kib(without.1),
        with_s - without.0,
        with_s / without.0,
        index_bytes as f64 / (1024.0 * 1024.0)
    );
    serve_rebuilds(&lectern, &course);
    let _ = std::fs::remove_dir_all(&work);
}

fn kib(k: Option<u64>) -> String {
    k.map_or_else(|| "n/a (no /usr/bin/time)".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// Runs `cmd`; returns wall seconds and, under GNU time, the peak resident KiB.
fn timed(cmd: Command, gnu_time: bool) -> (f64, Option<u64>) {
    let mut cmd = cmd;
    let mut wrapped = if gnu_time {
        let mut w = Command::new("/usr/bin/time");
        w.arg("-f").arg("peak-kib=%M").arg(cmd.get_program()).args(cmd.get_args());
        w
    } else {
        std::mem::replace(&mut cmd, Command::new("true"))
    };
    let started = Instant::now();
    let output = wrapped.stdout(Stdio::null()).stderr(Stdio::piped()).output().expect("runs");
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let peak = stderr.lines().find_map(|l| l.strip_prefix("peak-kib=")).and_then(|k| k.trim().parse().ok());
    (seconds, peak)
}

fn median(v: &mut [(f64, Option<u64>)]) -> (f64, Option<u64>) {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let peak = v.iter().filter_map(|x| x.1).max();
    (v[v.len() / 2].0, peak)
}

fn generate(root: &Path, work: &Path) -> (PathBuf, PathBuf) {
    let seed = std::fs::read_to_string(root.join("courses/ai012/lessons/02-llm-architectures.md")).expect("seed lesson");
    let script = std::fs::read(root.join("courses/ai012/lessons/02-llm-architectures/arch_comparison.py")).expect("script");
    let course = work.join("course");
    let hugo = work.join("hugo");
    std::fs::create_dir_all(course.join("lessons")).expect("mkdir");
    std::fs::create_dir_all(hugo.join("content")).expect("mkdir");
    std::fs::create_dir_all(hugo.join("layouts/_default")).expect("mkdir");
    std::fs::write(course.join("course.toml"), COURSE_TOML).expect("write");
    std::fs::write(
        hugo.join("hugo.toml"),
        "baseURL = \"http://localhost/\"\ndisableKinds = [\"taxonomy\", \"term\", \"RSS\", \"sitemap\"]\n",
    )
    .expect("write");
    std::fs::write(hugo.join("layouts/_default/single.html"), "<!doctype html><title>{{ .Title }}</title>{{ .Content }}\n").expect("write");
    std::fs::write(hugo.join("layouts/_default/list.html"), "<!doctype html>{{ range .Pages }}<a href=\"{{ .RelPermalink }}\">{{ .Title }}</a>{{ end }}\n").expect("write");
    for i in 0..LESSONS {
        let id = format!("{:04}-lesson", i + 1);
        let text = seed
            .replace("::: quiz q1", &format!("::: quiz q1-{i}"))
            .replace("::: quiz q2", &format!("::: quiz q2-{i}"))
            .replace("::: challenge bottleneck", &format!("::: challenge bottleneck-{i}"));
        std::fs::write(course.join("lessons").join(format!("{id}.md")), &text).expect("write");
        std::fs::create_dir_all(course.join("lessons").join(&id)).expect("mkdir");
        std::fs::write(course.join("lessons").join(&id).join("arch_comparison.py"), &script).expect("write");
        std::fs::write(hugo.join("content").join(format!("{id}.md")), &text).expect("write");
    }
    (course, hugo)
}

fn serve_rebuilds(lectern: &Path, course: &Path) {
    let mut child = Command::new(lectern)
        .args(["serve", &course.to_string_lossy(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let address = loop {
        let line = lines.next().and_then(Result::ok).expect("serve prints its address");
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split('/').next().unwrap_or_default().to_string();
        }
    };
    let lesson = course.join("lessons/0500-lesson.md");
    let original = std::fs::read_to_string(&lesson).expect("lesson");
    let mut end_to_end = Vec::new();
    let mut reported = Vec::new();
    for edit in 0..5 {
        let before = get(&address, "/__lectern/version");
        let started = Instant::now();
        std::fs::write(&lesson, original.replacen("## ", &format!("## Edit {edit}\n\n## "), 1)).expect("write");
        while get(&address, "/__lectern/version") == before {
            assert!(started.elapsed() < Duration::from_secs(10), "serve never rebuilt");
            std::thread::sleep(Duration::from_millis(1));
        }
        end_to_end.push(started.elapsed().as_secs_f64() * 1e3);
        // Serve's own line for this rebuild (lines of the search index made again in the
        // background come between).
        let line = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("rebuilt ")).unwrap_or_default();
        // "rebuilt 1 of 1000 lesson pages in 12.3 ms"
        if let Some(ms) = line.split(" in ").nth(1).and_then(|s| s.trim_end_matches(" ms").parse::<f64>().ok()) {
            reported.push(ms);
        }
        println!("edit {edit}: {line}");
    }
    let _ = child.kill();
    let _ = child.wait();
    std::fs::write(&lesson, original).expect("restore");
    end_to_end.sort_by(f64::total_cmp);
    reported.sort_by(f64::total_cmp);
    println!(
        "serve, one lesson of {LESSONS} edited: rebuild {:.1} ms (serve's own figure), write-to-new-version {:.1} ms (inotify, 15 ms settle, the rebuild); target < 100 ms",
        reported.get(reported.len() / 2).copied().unwrap_or(f64::NAN),
        end_to_end[end_to_end.len() / 2]
    );
}

fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    // serve answers only requests for its own address (the Host check).
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_string())
}

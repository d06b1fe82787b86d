//! `lectern build`: check the course, then compile its site and swap it into place.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use lectern_lesson::Mode;
use lectern_site::BuildOptions;

use crate::check;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ModeArg {
    Practice,
    Exam,
}

pub fn run(course_dir: &Path, out: &Path, mode: Option<ModeArg>, no_run: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let Some(loaded) = check::load_and_report(course_dir, false)? else {
        return Ok(ExitCode::from(1));
    };
    let templates = course_dir.join("templates");
    let options = BuildOptions {
        mode: mode.map(|m| match m {
            ModeArg::Practice => Mode::Practice,
            ModeArg::Exam => Mode::Exam,
        }),
        templates_dir: templates.is_dir().then_some(templates),
        run_outputs: if no_run { Default::default() } else { capture_run_outputs(&loaded.course) },
        ..BuildOptions::default()
    };
    let mut site = lectern_site::build(&loaded.course, &options).context("building the site")?;
    let mut indexed = String::new();
    if loaded.course.config.site.search {
        let started = Instant::now();
        let bundle = search_index(site.files.iter().map(|(path, bytes)| (path.as_str(), &bytes[..])))?;
        site.files.extend(bundle);
        indexed = format!(" (search index {:.2} s)", started.elapsed().as_secs_f64());
    }
    if out.starts_with(course_dir) && out != course_dir {
        // Allowed, but the site must not end up inside what the next check reads.
        if out.starts_with(course_dir.join("lessons")) || out.starts_with(course_dir.join("exercises")) {
            bail!("--out {} is inside the course's lessons or exercises; choose another folder", out.display());
        }
    }
    lectern_site::write_site(&site, out)?;
    let mode = options.mode.unwrap_or(loaded.course.config.mode);
    println!(
        "built {} ({} mode): {} pages in {} in {:.2} s{indexed}",
        loaded.course.config.code,
        if mode == Mode::Exam { "exam" } else { "practice" },
        loaded.course.lessons.len() + 1,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The search index of a built site's pages (every `.html` file among `files`): the
/// Pagefind bundle's files, by their path in the site. What is read and what never is
/// comes from the site's templates ([`lectern_site::SEARCH_ROOT`],
/// [`lectern_site::NOT_SEARCHED`]).
pub fn search_index<'a>(files: impl Iterator<Item = (&'a str, &'a [u8])>) -> Result<Vec<(String, Vec<u8>)>> {
    let options = lectern_search::Options { root_selector: lectern_site::SEARCH_ROOT, exclude: lectern_site::NOT_SEARCHED };
    lectern_search::index(files.filter(|(path, _)| path.ends_with(".html")), &options).context("making the search index")
}

/// Runs every `run` code block of the course once, in the sandbox, and returns what each
/// printed by its content hash (cached on disk by that hash, so a block runs again only
/// when its code changes). The code is treated as untrusted, like a student's. Without a
/// sandbox or a Python environment the site is built without captured output, and says so.
pub fn capture_run_outputs(course: &lectern_lesson::Course) -> std::collections::BTreeMap<String, String> {
    use lectern_runner::sandbox::{Isolation, Limits, Sandbox};
    let mut outputs = std::collections::BTreeMap::new();
    let blocks: Vec<&lectern_lesson::CodeBlock> = course
        .lessons
        .iter()
        .flat_map(|l| l.code_blocks())
        .filter(|c| c.run && c.lang.as_deref().is_none_or(|l| l.eq_ignore_ascii_case("python") || l == "py"))
        .collect();
    if blocks.is_empty() {
        return outputs;
    }
    let cache = lectern_runner::python::cache_dir();
    let runs = cache.join("runs");
    let mut pending = Vec::new();
    for block in blocks {
        let key = lectern_site::view::code_key(block);
        match std::fs::read_to_string(runs.join(&key)) {
            Ok(text) => {
                outputs.insert(key, text);
            }
            Err(_) => pending.push((key, block)),
        }
    }
    if pending.is_empty() {
        return outputs;
    }
    let warn = |why: &str| {
        eprintln!("{}: runnable code blocks were not run ({why}); their terminals show no output", crate::report::paint("warning", crate::report::Style::Warning));
    };
    // Without a sandbox nothing runs (said before any time goes into a Python environment).
    let limits = Limits { cpu_seconds: 10, wall: std::time::Duration::from_secs(20), ..Limits::default() };
    let sandbox = match Sandbox::for_course(&course.config.runner, &cache, limits, Isolation::Bubblewrap, &mut |m| eprintln!("{m}")) {
        Ok(s) => s,
        Err(e) => {
            warn(&e.to_string());
            return outputs;
        }
    };
    let _ = std::fs::create_dir_all(&runs);
    for (key, block) in pending {
        let name = block.file.clone().unwrap_or_else(|| "main.py".into());
        let name = if name.contains('/') || name.starts_with('.') { "main.py".to_string() } else { name };
        // A folder of its own for every run (builds side by side run the same block at
        // once), on this host's temporary disk.
        let prepared = sandbox.scratch(&std::env::temp_dir()).map_err(|e| e.to_string()).and_then(|dir| {
            std::fs::write(dir.path().join(&name), &block.text).map(|()| dir).map_err(|e| e.to_string())
        });
        let scratch = match prepared {
            Ok(dir) => dir,
            Err(e) => {
                warn(&e);
                break;
            }
        };
        let text = match sandbox.run_python(scratch.path(), &[&name]) {
            Ok(run) if !run.started => {
                // The sandbox failed, not the program: nothing is cached.
                warn(&format!("the sandbox did not start it: {}", run.stderr.trim()));
                break;
            }
            Ok(run) => run.terminal(&name, limits.wall),
            Err(e) => {
                // The sandbox failed, not the program: nothing is cached.
                warn(&e.to_string());
                break;
            }
        };
        drop(scratch);
        // What the program did is cached, written whole (a temporary file renamed into
        // place), so that builds reading alongside never see half of it.
        let written = tempfile::NamedTempFile::new_in(&runs)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()).map(|()| f))
            .and_then(|f| f.persist(runs.join(&key)).map_err(|e| e.error));
        if let Err(e) = written {
            eprintln!("{}: could not cache the output of a code block in {}: {e}", crate::report::paint("warning", crate::report::Style::Warning), runs.display());
        }
        outputs.insert(key, text);
    }
    outputs
}

//! `lectern serve`: the site from memory on 127.0.0.1, rebuilt when the course changes.
//!
//! A file watcher (inotify through `notify`) wakes the rebuild; the rebuild reads and
//! parses only the files that changed (`CourseCache`) and renders only the pages whose
//! lesson (or neighbours' titles) changed. Open pages poll `/__lectern/version` and
//! reload. A build with errors prints its diagnostics and shows them over the page,
//! while the last good site keeps serving.
//!
//! The Run button of a `run` code block posts the (possibly edited) code to
//! `/__lectern/run/KEY`; it runs in the runner's sandbox (Bubblewrap, never without it),
//! under a CPU and wall-clock limit with its output capped, one run at a time per page
//! (the page sends its own client id; a second run while one is going is refused with
//! 429), and the answer is what the terminal panel shows.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lectern_lesson::{load_course_cached, Course, CourseCache};
use lectern_site::{BuildOptions, Renderer};
use notify::Watcher;


/// What the server shows now.
#[derive(Default)]
struct Shown {
    /// Shared, so that a rebuild keeps unchanged pages without copying them.
    files: BTreeMap<String, Arc<[u8]>>,
    version: u64,
    /// Diagnostics of the last build, when it failed (the files are the last good ones).
    errors: String,
    /// Runnable code blocks by key: the file name each runs as.
    runnable: BTreeMap<String, String>,
    /// The course's `[runner]` (requirements and lock file), for the Python environment.
    runner: lectern_lesson::model::RunnerConfig,
}

/// Runs of edited code for the Run button.
#[derive(Default)]
struct Runs {
    /// `--no-sandbox`: the Run button runs nothing (code posted to the server never runs
    /// without isolation).
    no_sandbox: bool,
    /// Made on the first run (provisioning Python may take a while); an error is kept.
    sandbox: Mutex<Option<Result<lectern_runner::sandbox::Sandbox, String>>>,
    /// Clients with a run going.
    busy: Mutex<HashSet<String>>,
}

/// The most code a page may post.
const MAX_CODE: usize = 256 << 10;
/// Limits of one run from the page.
const RUN_SECONDS: u64 = 10;

/// The previous good build, to rebuild from.
struct Previous {
    course: Course,
    templates: BTreeMap<PathBuf, Vec<u8>>,
}

pub fn run(course_dir: &Path, port: u16, no_sandbox: bool) -> Result<std::process::ExitCode> {
    if !course_dir.join("course.toml").is_file() {
        anyhow::bail!("{} has no course.toml: give the course folder", course_dir.display());
    }
    // The Run button runs posted code only in the sandbox: without one, serve stops here
    // rather than show buttons that cannot work, unless told to serve without them.
    if !no_sandbox {
        lectern_runner::sandbox::probe().context("the Run button needs the sandbox; pass --no-sandbox to serve the course with Run switched off")?;
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("listening on 127.0.0.1:{port}"))?;
    let address = listener.local_addr()?;
    let shown = Arc::new(Mutex::new(Shown::default()));
    let mut cache = CourseCache::default();
    let mut previous: Option<Previous> = None;
    rebuild(course_dir, &mut cache, &mut previous, &shown);
    println!("serving {} at http://{address}/ (Ctrl-C to stop)", course_dir.display());

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })
    .context("starting the file watcher")?;
    watcher.watch(course_dir, notify::RecursiveMode::Recursive).context("watching the course")?;

    let server_state = Arc::clone(&shown);
    let runs = Arc::new(Runs { no_sandbox, ..Runs::default() });
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let state = Arc::clone(&server_state);
            let runs = Arc::clone(&runs);
            std::thread::spawn(move || {
                let _ = respond(stream, &state, &runs);
            });
        }
    });

    let course_dir = course_dir.to_path_buf();
    while rx.recv().is_ok() {
        // Editors write in bursts (temp file, rename, chmod): wait until it settles.
        while rx.recv_timeout(Duration::from_millis(15)).is_ok() {}
        rebuild(&course_dir, &mut cache, &mut previous, &shown);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Reloads what changed and re-renders what depends on it.
fn rebuild(course_dir: &Path, cache: &mut CourseCache, previous: &mut Option<Previous>, shown: &Mutex<Shown>) {
    let started = Instant::now();
    let loaded = load_course_cached(course_dir, cache);
    if loaded.has_errors() {
        let text = crate::check::render_diagnostics(course_dir, &loaded);
        eprint!("{text}");
        eprintln!("build failed; still serving the last good site");
        let mut shown = lock(shown);
        shown.errors = text;
        shown.version += 1;
        return;
    }
    let templates_dir = course_dir.join("templates");
    let templates = read_templates(&templates_dir);
    let options = BuildOptions {
        templates_dir: templates_dir.is_dir().then_some(templates_dir),
        serve_version: Some("on".into()),
        ..BuildOptions::default()
    };
    let course = loaded.course;
    let renderer = match Renderer::new(&course, &options) {
        Ok(r) => r,
        Err(e) => return fail(shown, &e.to_string()),
    };
    // Everything is re-rendered when settings, templates or exercises change; otherwise
    // only the lessons that changed, and their neighbours when a title changed.
    let reuse = previous.as_ref().filter(|p| {
        p.templates == templates && p.course.config == course.config && p.course.exercises == course.exercises
    });
    let old_files = lock(shown).files.clone();
    let mut files: BTreeMap<String, Arc<[u8]>> = BTreeMap::new();
    let mut rendered = 0;
    let links: Vec<_> = course.lessons.iter().map(|l| (&l.id, &l.title, l.number)).collect();
    let old = reuse.map(|p| &p.course.lessons);
    let old_links: Vec<_> = old.into_iter().flatten().map(|l| (&l.id, &l.title, l.number)).collect();
    let old_index: std::collections::HashMap<&String, usize> =
        old.into_iter().flatten().enumerate().map(|(j, l)| (&l.id, j)).collect();
    for (i, lesson) in course.lessons.iter().enumerate() {
        let name = format!("{}.html", lesson.id);
        // The page is kept when its lesson and its neighbours' links are unchanged.
        let same = old.zip(old_index.get(&lesson.id)).is_some_and(|(old, &j)| {
            old[j] == *lesson
                && old_links.get(j.wrapping_sub(1)) == links.get(i.wrapping_sub(1))
                && old_links.get(j + 1) == links.get(i + 1)
        });
        let old_page = if same { old_files.get(&name).cloned() } else { None };
        match old_page {
            Some(page) => {
                files.insert(name, page);
            }
            None => match renderer.lesson(i) {
                Ok((name, page)) => {
                    rendered += 1;
                    files.insert(name, page.into());
                }
                Err(e) => return fail(shown, &e.to_string()),
            },
        }
    }
    match renderer.index() {
        Ok(index) => {
            files.insert("index.html".into(), index.into());
        }
        Err(e) => return fail(shown, &e.to_string()),
    }
    files.extend(renderer.assets().map(|(name, bytes)| (name, Arc::from(bytes))));
    drop(renderer);
    let runnable = course
        .lessons
        .iter()
        .flat_map(|l| l.code_blocks())
        .filter(|c| c.run && c.lang.as_deref().is_none_or(|l| l.eq_ignore_ascii_case("python") || l == "py"))
        .map(|c| {
            let name = c.file.clone().filter(|n| !n.contains('/') && !n.starts_with('.')).unwrap_or_else(|| "main.py".into());
            (lectern_site::view::code_key(c), name)
        })
        .collect();
    {
        let mut shown = lock(shown);
        shown.files = files;
        shown.errors.clear();
        shown.version += 1;
        shown.runnable = runnable;
        shown.runner = course.config.runner.clone();
    }
    println!(
        "rebuilt {} of {} lesson pages in {:.1} ms",
        rendered,
        course.lessons.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    *previous = Some(Previous { course, templates });
}

fn fail(shown: &Mutex<Shown>, message: &str) {
    eprintln!("error: {message}; still serving the last good site");
    let mut shown = lock(shown);
    shown.errors = format!("error: {message}\n");
    shown.version += 1;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read_templates(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path()) {
            out.insert(entry.path(), bytes);
        }
    }
    out
}

/// One HTTP/1.1 request: GET a file, the version, the errors; POST code to run.
fn respond(stream: TcpStream, shown: &Mutex<Shown>, runs: &Runs) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    let mut client = None;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(usize::MAX);
            } else if name.eq_ignore_ascii_case("x-lectern-client") {
                client = Some(value.chars().filter(char::is_ascii_alphanumeric).take(64).collect::<String>());
            }
        }
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let text = "text/plain; charset=utf-8";
    let (status, kind, body): (&str, &str, Vec<u8>) = match (method, path) {
        ("GET", "/__lectern/version") => ("200 OK", "text/plain", lock(shown).version.to_string().into_bytes()),
        ("GET", "/__lectern/errors") => ("200 OK", text, lock(shown).errors.clone().into_bytes()),
        ("POST", p) if p.starts_with("/__lectern/run/") => {
            if length > MAX_CODE {
                ("413 Payload Too Large", text, format!("at most {MAX_CODE} bytes of code\n").into_bytes())
            } else {
                let mut code = vec![0; length];
                std::io::Read::read_exact(&mut reader, &mut code)?;
                let key = p.trim_start_matches("/__lectern/run/");
                // Without a client id, the connection's address stands for the client.
                let client = client.filter(|c| !c.is_empty()).unwrap_or_else(|| stream.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default());
                let (status, body) = run_code(shown, runs, key, &code, &client);
                (status, text, body.into_bytes())
            }
        }
        ("GET" | "HEAD", p) => {
            let name = percent_decode(p.trim_start_matches('/'));
            let name = if name.is_empty() || name.ends_with('/') { format!("{name}index.html") } else { name };
            match lock(shown).files.get(&name) {
                Some(bytes) => ("200 OK", content_type(&name), bytes.to_vec()),
                None => ("404 Not Found", text, format!("{name} is not part of this site\n").into_bytes()),
            }
        }
        _ => ("405 Method Not Allowed", "text/plain", Vec::new()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// Runs code posted by a page for the code block `key`, in the sandbox; one run at a time
/// per client. Returns the status line and what the terminal panel shows.
fn run_code(shown: &Mutex<Shown>, runs: &Runs, key: &str, code: &[u8], client: &str) -> (&'static str, String) {
    use lectern_runner::sandbox::{Isolation, Limits, Sandbox};
    let (name, runner) = {
        let shown = lock(shown);
        match shown.runnable.get(key) {
            Some(name) => (name.clone(), shown.runner.clone()),
            None => return ("404 Not Found", format!("no runnable code block has the key {key}\n")),
        }
    };
    let Ok(code) = std::str::from_utf8(code) else {
        return ("400 Bad Request", "the code is not UTF-8\n".into());
    };
    if !lock(&runs.busy).insert(client.to_owned()) {
        return ("429 Too Many Requests", "[a run from this page is still going: wait for it to finish]\n".into());
    }
    /// Frees the client's slot however the run ends.
    struct Slot<'a>(&'a Runs, &'a str);
    impl Drop for Slot<'_> {
        fn drop(&mut self) {
            lock(&self.0.busy).remove(self.1);
        }
    }
    let _slot = Slot(runs, client);
    let cache = lectern_runner::python::cache_dir();
    let sandbox = {
        let mut made = lock(&runs.sandbox);
        let sandbox = made.get_or_insert_with(|| {
            if runs.no_sandbox {
                return Err("this server was started with --no-sandbox, so the Run button runs nothing".into());
            }
            let limits = Limits { cpu_seconds: RUN_SECONDS, wall: Duration::from_secs(RUN_SECONDS), ..Limits::default() };
            Sandbox::for_course(&runner, &cache, limits, Isolation::Bubblewrap, &mut |m| eprintln!("{m}")).map_err(|e| e.to_string())
        });
        match sandbox {
            Ok(s) => s.clone(),
            Err(e) => return ("503 Service Unavailable", format!("[the code cannot run here: {e}]\n")),
        }
    };
    let prepared = sandbox.scratch(&std::env::temp_dir()).map_err(|e| e.to_string()).and_then(|dir| {
        std::fs::write(dir.path().join(&name), code).map(|()| dir).map_err(|e| e.to_string())
    });
    let scratch = match prepared {
        Ok(dir) => dir,
        Err(e) => return ("500 Internal Server Error", format!("[could not prepare the run: {e}]\n")),
    };
    let result = sandbox.run_python(scratch.path(), &[&name]);
    drop(scratch);
    match result {
        Ok(run) if !run.started => ("500 Internal Server Error", format!("[the sandbox did not start the program: {}]\n", run.stderr.trim())),
        Ok(run) => ("200 OK", run.terminal(&name, Duration::from_secs(RUN_SECONDS))),
        Err(e) => ("500 Internal Server Error", format!("[the run failed: {e}]\n")),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("woff2") => "font/woff2",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

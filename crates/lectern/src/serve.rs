//! `lectern serve`: the site from memory on 127.0.0.1, rebuilt when the course changes.
//!
//! A file watcher (inotify through `notify`) wakes the rebuild on a thread of its own; the
//! rebuild reads and parses only the files that changed (`CourseCache`) and renders only
//! the pages whose lesson (or neighbours' titles) changed. Open pages hold a Server-Sent
//! Events stream, `/__lectern/events`, that sends the site's version after each rebuild,
//! and reload. A build with errors prints its diagnostics and shows them over the page
//! (`/__lectern/errors`), while the last good site keeps serving.
//!
//! HTTP is hyper's (HTTP/1.1; at most 64 KiB of request head, 100 header lines, 10 s to
//! send it) with axum's routing, on a tokio runtime of two worker threads. At most
//! [`MAX_CONNECTIONS`] connections are served at once; a handler that panics answers 500
//! (tower-http's `CatchPanicLayer`) and the server goes on. Request paths are
//! percent-decoded strictly: a bad escape or a name that is not UTF-8 answers 400.
//!
//! Only the author's own browser may use it. Every request must name this server in
//! `Host` (127.0.0.1, localhost or [::1], with its port), which stops DNS rebinding;
//! `OPTIONS` (a CORS preflight) is refused, and no response carries CORS headers.
//!
//! The Run button of a `run` code block posts the (possibly edited) code to
//! `/__lectern/run/KEY`. The request must carry `X-Lectern-Token`, a 128-bit secret made
//! at start and put into every HTML page served (`<meta name="lectern-token">`), and an
//! `Origin`, when it has one, of this server: a page of another origin cannot read the
//! token, and the header makes its request one the browser preflights, so even a
//! `no-cors` POST is refused with 403. The code (at most 256 KiB) runs in the runner's
//! sandbox (Bubblewrap, never without it) on a blocking thread, under a CPU and
//! wall-clock limit with its output capped, two runs at once on the machine and one at a
//! time per code block (a second POST for a block whose run is going gets 429), and the
//! answer is what the terminal panel shows.

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Router;
use lectern_lesson::{load_course_cached, Course, CourseCache};
use lectern_site::{BuildOptions, Renderer};
use notify::Watcher;
use tokio::sync::{watch, Semaphore};

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
struct Runs {
    /// `--no-sandbox`: the Run button runs nothing (code posted to the server never runs
    /// without isolation).
    no_sandbox: bool,
    /// Made on the first run (provisioning Python may take a while); an error is kept.
    sandbox: Mutex<Option<Result<lectern_runner::sandbox::Sandbox, String>>>,
    /// Code blocks (by key) with a run going.
    busy: Mutex<HashSet<String>>,
    /// Runs at once on the machine.
    slots: Arc<Semaphore>,
}

/// The most code a page may post.
const MAX_CODE: usize = 256 << 10;
/// Limits of one run from the page.
const RUN_SECONDS: u64 = 10;
/// Runs at once, all pages together.
const MAX_RUNS: usize = 2;
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;
/// The most a request's head (request line and headers) may take: more answers 431.
const MAX_HEAD: usize = 64 << 10;
/// The header that carries the server's secret with a run.
const TOKEN_HEADER: &str = "x-lectern-token";

/// The previous good build, to rebuild from.
struct Previous {
    course: Course,
    templates: BTreeMap<PathBuf, Vec<u8>>,
}

/// What every request handler shares.
struct App {
    shown: Arc<Mutex<Shown>>,
    runs: Runs,
    /// The site's version, sent to the live-reload streams after each rebuild.
    version: watch::Receiver<u64>,
    /// The secret a run request must carry (hex), put into every page served.
    token: String,
    /// The `Host` values this server answers to (`127.0.0.1:PORT`, `localhost:PORT`,
    /// `[::1]:PORT`).
    hosts: [String; 3],
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
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("listening on 127.0.0.1:{port}"))?;
    let address = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no random bytes from the system for the token: {e}"))?;
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    // Versions start at the clock, so that a page left open across a restart of the
    // server sees a new version (and reloads, taking the new token).
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let shown = Arc::new(Mutex::new(Shown { version: start, ..Shown::default() }));
    let mut cache = CourseCache::default();
    let mut previous: Option<Previous> = None;
    let indexer = Indexer::start(Arc::clone(&shown));
    rebuild(course_dir, &mut cache, &mut previous, &shown, &indexer);
    let (versions, version) = watch::channel(lock(&shown).version);

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })
    .context("starting the file watcher")?;
    watcher.watch(course_dir, notify::RecursiveMode::Recursive).context("watching the course")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(MAX_RUNS + 2)
        .thread_name("lectern-serve")
        .enable_all()
        .build()
        .context("starting the server's threads")?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let port = address.port();
    let app = Arc::new(App {
        shown: Arc::clone(&shown),
        runs: Runs {
            no_sandbox,
            sandbox: Mutex::new(None),
            busy: Mutex::new(HashSet::new()),
            slots: Arc::new(Semaphore::new(MAX_RUNS)),
        },
        version,
        token,
        hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")],
    });
    runtime.spawn(serve(listener, router(app)));
    println!("serving {} at http://{address}/ (Ctrl-C to stop)", course_dir.display());
    let _ = std::io::stdout().flush();

    let course_dir = course_dir.to_path_buf();
    while rx.recv().is_ok() {
        // Editors write in bursts (temp file, rename, chmod): wait until it settles.
        while rx.recv_timeout(Duration::from_millis(15)).is_ok() {}
        rebuild(&course_dir, &mut cache, &mut previous, &shown, &indexer);
        versions.send_replace(lock(&shown).version);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Makes the search index of the pages shown, on a thread of its own, so that a rebuild
/// never waits for it (Pagefind has no incremental update: a large course takes
/// seconds). Asked again while busy, it makes one more index from the newest pages when
/// done; an index is swapped in only if no rebuild came after the pages it read.
struct Indexer {
    wake: mpsc::Sender<()>,
}

impl Indexer {
    fn start(shown: Arc<Mutex<Shown>>) -> Indexer {
        let (wake, asked) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("lectern-search-index".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    // Every request made until now is served by this one index.
                    while asked.try_recv().is_ok() {}
                    let started = Instant::now();
                    let (version, pages) = {
                        let shown = lock(&shown);
                        let pages: Vec<(String, Arc<[u8]>)> =
                            shown.files.iter().filter(|(n, _)| n.ends_with(".html")).map(|(n, b)| (n.clone(), Arc::clone(b))).collect();
                        (shown.version, pages)
                    };
                    match crate::build::search_index(pages.iter().map(|(path, bytes)| (path.as_str(), &bytes[..]))) {
                        Ok(bundle) => {
                            let mut shown = lock(&shown);
                            if shown.version == version {
                                shown.files.retain(|name, _| !name.starts_with("pagefind/"));
                                shown.files.extend(bundle.into_iter().map(|(name, bytes)| (name, Arc::from(bytes))));
                                println!("search index made again in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
                            }
                        }
                        Err(e) => eprintln!("{}: {e:#}; search shows the previous index", crate::report::paint("warning", crate::report::Style::Warning)),
                    }
                }
            })
            .map_or_else(
                |e| {
                    eprintln!("{}: no thread for the search index ({e}); search is off", crate::report::paint("warning", crate::report::Style::Warning));
                    Indexer { wake: mpsc::channel().0 }
                },
                |_| Indexer { wake },
            )
    }

    fn ask(&self) {
        let _ = self.wake.send(());
    }
}

/// Reloads what changed and re-renders what depends on it.
fn rebuild(course_dir: &Path, cache: &mut CourseCache, previous: &mut Option<Previous>, shown: &Mutex<Shown>, indexer: &Indexer) {
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
    let search = course.config.site.search;
    if search {
        // The previous index stays until the new one is made (below), so that the
        // new pages go out without waiting for it.
        files.extend(old_files.iter().filter(|(name, _)| name.starts_with("pagefind/")).map(|(n, b)| (n.clone(), Arc::clone(b))));
    }
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
    if search {
        indexer.ask();
    }
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

/// The routes, behind the `Host` check, with panics turned into 500.
fn router(app: Arc<App>) -> Router {
    use axum::routing::{get, post};
    Router::new()
        .route("/__lectern/version", get(version))
        .route("/__lectern/errors", get(errors))
        .route("/__lectern/events", get(events))
        .route("/__lectern/run/{key}", post(run_route))
        .fallback(file)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), guard))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(app)
}

/// Accepts connections, at most [`MAX_CONNECTIONS`] at once, each served by hyper with a
/// bounded request head.
async fn serve(listener: tokio::net::TcpListener, router: Router) {
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(MAX_HEAD)
        .max_headers(100);
    let mut said = false;
    loop {
        let Ok(permit) = Arc::clone(&connections).acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait and try again.
                if !std::mem::replace(&mut said, true) {
                    eprintln!("error: accepting a connection: {e}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        said = false;
        let connection = http.serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(router.clone()),
        );
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body.into()).into_response()
}

/// Every request: `Host` must be this server (DNS rebinding), no preflight is granted,
/// nothing is cached or framed by another page.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let ours = |authority: &str| app.hosts.iter().any(|h| h.eq_ignore_ascii_case(authority));
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    // A request in absolute form names the server in its target too.
    let target = request.uri().authority().map(|a| a.as_str());
    let mut response = if !host.is_some_and(ours) || !target.is_none_or(ours) {
        text(StatusCode::FORBIDDEN, format!("this server answers only to http://{}/\n", app.hosts[0]))
    } else if request.method() == Method::OPTIONS {
        text(StatusCode::FORBIDDEN, "cross-origin requests are refused\n")
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn version(State(app): State<Arc<App>>) -> Response {
    text(StatusCode::OK, lock(&app.shown).version.to_string())
}

async fn errors(State(app): State<Arc<App>>) -> Response {
    text(StatusCode::OK, lock(&app.shown).errors.clone())
}

/// Live reload: the version now, then each new one (and a comment every 15 s, which keeps
/// the connection open through idle timeouts).
async fn events(State(app): State<Arc<App>>) -> impl IntoResponse {
    let stream = futures_util::stream::unfold((app.version.clone(), true), |(mut version, first)| async move {
        if !first && version.changed().await.is_err() {
            return None;
        }
        let now = *version.borrow_and_update();
        let event = Event::default().data(now.to_string()).retry(Duration::from_millis(500));
        Some((Ok::<_, Infallible>(event), (version, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A file of the site; a folder means its `index.html`. HTML pages get the token and the
/// version they belong to.
async fn file(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Some(name) = decode_path(uri.path().trim_start_matches('/')) else {
        return text(StatusCode::BAD_REQUEST, "the path is not percent-encoded UTF-8\n");
    };
    let name = if name.is_empty() || name.ends_with('/') { format!("{name}index.html") } else { name };
    let (bytes, version) = {
        let shown = lock(&app.shown);
        match shown.files.get(&name) {
            Some(bytes) => (Arc::clone(bytes), shown.version),
            None => return text(StatusCode::NOT_FOUND, format!("{name} is not part of this site\n")),
        }
    };
    let kind = content_type(&name);
    let body = if kind.starts_with("text/html") {
        Body::from(with_token(&bytes, &app.token, version))
    } else {
        Body::from(bytes.to_vec())
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// The page with `<meta name="lectern-token">` and `<meta name="lectern-version">` before
/// its `</head>` (a page without one is served as it is).
fn with_token(page: &[u8], token: &str, version: u64) -> Vec<u8> {
    let Some(at) = page.windows(7).position(|w| w.eq_ignore_ascii_case(b"</head>")) else {
        return page.to_vec();
    };
    let meta = format!("<meta name=\"lectern-token\" content=\"{token}\"><meta name=\"lectern-version\" content=\"{version}\">");
    let mut out = Vec::with_capacity(page.len() + meta.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(meta.as_bytes());
    out.extend_from_slice(&page[at..]);
    out
}

/// A request path without its leading `/`, percent-decoded; `None` when an escape is not
/// `%` and two hex digits or the bytes are not UTF-8.
fn decode_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let escapes_ok = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    if !escapes_ok {
        return None;
    }
    percent_encoding::percent_decode_str(path).decode_utf8().ok().map(|s| s.into_owned())
}

/// Compares in time that does not depend on where the two differ.
fn same_secret(given: &[u8], token: &[u8]) -> bool {
    given.len() == token.len() && given.iter().zip(token).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

/// A run posted by a page: only from this server's own pages (origin and token), at most
/// [`MAX_CODE`] bytes, one at a time per code block, [`MAX_RUNS`] at once.
async fn run_route(
    State(app): State<Arc<App>>,
    axum::extract::Path(key): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ours = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|o| app.hosts.iter().any(|h| h.eq_ignore_ascii_case(o)));
        if !ours {
            return text(StatusCode::FORBIDDEN, "[refused: runs are taken only from this server's own pages]\n");
        }
    }
    if !headers.get(TOKEN_HEADER).is_some_and(|t| same_secret(t.as_bytes(), app.token.as_bytes())) {
        return text(
            StatusCode::FORBIDDEN,
            "[refused: the request does not carry this server's token; reload the page]\n",
        );
    }
    let too_big = || text(StatusCode::PAYLOAD_TOO_LARGE, format!("at most {MAX_CODE} bytes of code\n"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|l| l.to_str().ok()).and_then(|l| l.parse::<u64>().ok());
    if declared.is_some_and(|l| l > MAX_CODE as u64) {
        return too_big();
    }
    let Ok(code) = axum::body::to_bytes(body, MAX_CODE).await else { return too_big() };
    if !lock(&app.shown).runnable.contains_key(&key) {
        return text(StatusCode::NOT_FOUND, format!("no runnable code block has the key {key}\n"));
    }
    if !lock(&app.runs.busy).insert(key.clone()) {
        return text(StatusCode::TOO_MANY_REQUESTS, "[a run of this code is still going: wait for it to finish]\n");
    }
    /// Frees the code block's slot however the run ends (or the page goes away first).
    struct Slot(Arc<App>, String);
    impl Drop for Slot {
        fn drop(&mut self) {
            lock(&self.0.runs.busy).remove(&self.1);
        }
    }
    let slot = Slot(Arc::clone(&app), key);
    let Ok(permit) = Arc::clone(&app.runs.slots).acquire_owned().await else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "[the server is stopping]\n");
    };
    let ran = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let app = Arc::clone(&slot.0);
        run_code(&app.shown, &app.runs, &slot.1, &code)
    })
    .await;
    match ran {
        Ok((status, out)) => text(status, out),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("[the run failed: {e}]\n")),
    }
}

/// Runs code posted by a page for the code block `key`, in the sandbox. Returns the status
/// and what the terminal panel shows.
fn run_code(shown: &Mutex<Shown>, runs: &Runs, key: &str, code: &[u8]) -> (StatusCode, String) {
    use lectern_runner::sandbox::{Isolation, Limits, Sandbox};
    let (name, runner) = {
        let shown = lock(shown);
        match shown.runnable.get(key) {
            Some(name) => (name.clone(), shown.runner.clone()),
            None => return (StatusCode::NOT_FOUND, format!("no runnable code block has the key {key}\n")),
        }
    };
    let Ok(code) = std::str::from_utf8(code) else {
        return (StatusCode::BAD_REQUEST, "the code is not UTF-8\n".into());
    };
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
            Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("[the code cannot run here: {e}]\n")),
        }
    };
    let prepared = sandbox.scratch(&std::env::temp_dir()).map_err(|e| e.to_string()).and_then(|dir| {
        std::fs::write(dir.path().join(&name), code).map(|()| dir).map_err(|e| e.to_string())
    });
    let scratch = match prepared {
        Ok(dir) => dir,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("[could not prepare the run: {e}]\n")),
    };
    let result = sandbox.run_python(scratch.path(), &[&name]);
    drop(scratch);
    match result {
        Ok(run) if !run.started => (StatusCode::INTERNAL_SERVER_ERROR, format!("[the sandbox did not start the program: {}]\n", run.stderr.trim())),
        Ok(run) => (StatusCode::OK, run.terminal(&name, Duration::from_secs(RUN_SECONDS))),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("[the run failed: {e}]\n")),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

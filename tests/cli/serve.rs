//! `lectern serve`: serves the site, rebuilds only what an edit changed, pushes the new
//! version to open pages, and keeps the last good site up (with the diagnostics for the
//! page) when an edit breaks the course; it answers only to its own address, runs code
//! only for requests that carry the secret of its pages, and each refusal and limit holds
//! without taking the server down.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use std::{fs, thread};

use crate::{lectern, root};

struct Server {
    child: Child,
    address: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(course: &std::path::Path) -> Server {
        Server::start_with(course, &[])
    }

    fn start_with(course: &std::path::Path, flags: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lectern"))
            .args(["serve", &course.to_string_lossy(), "--port", "0"])
            .args(flags)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lectern serve starts");
        let (tx, lines) = mpsc::channel();
        for stream in [child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>), child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>)].into_iter().flatten() {
            let tx = tx.clone();
            thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut server = Server { child, address: String::new(), lines };
        let line = server.wait_for("serving ");
        server.address = line.split("http://").nth(1).and_then(|a| a.split('/').next()).unwrap_or("").to_string();
        server
    }

    /// The next output line containing `text` (within 10 s).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("lectern serve never printed {text:?}");
    }

    fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.request(&format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.address));
        (status, body)
    }

    /// Sends `head` as it is: (status, response head, body).
    fn request(&self, head: &str) -> (u16, String, String) {
        request(&self.address, head.as_bytes())
    }

    /// The secret the server put into its pages.
    fn token(&self) -> String {
        let (status, index) = self.get("/");
        assert_eq!(status, 200);
        let token = index.split("<meta name=\"lectern-token\" content=\"").nth(1).and_then(|t| t.split('"').next()).expect("the token in the page");
        assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        token.to_string()
    }
}

/// Sends `bytes` to the server at `address` and reads the answer: (status, head, body);
/// status 0 when the connection closed without one.
fn request(address: &str, bytes: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    // The server may answer (and close) before it has read everything.
    let _ = stream.write_all(bytes);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_string(), body.to_string())
}

#[test]
fn serve_rebuilds_what_changed_and_keeps_the_last_good_site() {
    let dir = std::env::temp_dir().join(format!("lectern-serve-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    crate::site::copy_dir(&root().join("courses/guide"), &dir);
    let server = Server::start(&dir);
    let (status, index) = server.get("/");
    assert_eq!(status, 200);
    assert!(index.contains("Lectern format reference"), "{index}");
    let (status, page) = server.get("/03-quizzes.html");
    assert_eq!(status, 200);
    assert!(page.contains("data-serve="), "pages under serve listen for reloads");
    assert_eq!(server.get("/nowhere.html").0, 404);
    let version = server.get("/__lectern/version").1;
    assert!(page.contains(&format!("<meta name=\"lectern-version\" content=\"{version}\">")), "the page knows its version");
    // The live-reload stream sends the version now, and each new one.
    let mut events = TcpStream::connect(&server.address).expect("connect");
    write!(events, "GET /__lectern/events HTTP/1.1\r\nHost: {}\r\n\r\n", server.address).expect("send");
    events.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut events = BufReader::new(events);
    let next_version = |events: &mut BufReader<TcpStream>| -> String {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(events.read_line(&mut line).expect("an event") > 0, "the stream ended");
            if let Some(v) = line.trim_end().strip_prefix("data: ") {
                return v.to_string();
            }
        }
    };
    assert_eq!(next_version(&mut events), version);

    // An edit to one lesson's body re-renders that page only.
    // The search index is made in the background after the first build.
    let deadline = Instant::now() + Duration::from_secs(20);
    let entry = loop {
        let (status, entry) = server.get("/pagefind/pagefind-entry.json");
        if status == 200 {
            break entry;
        }
        assert!(Instant::now() < deadline, "no search index is served");
        thread::sleep(Duration::from_millis(50));
    };
    let lesson = dir.join("lessons/03-quizzes.md");
    let text = fs::read_to_string(&lesson).expect("lesson");
    fs::write(&lesson, text.replacen("## ", "## Freshly edited heading\n\n## ", 1)).expect("write");
    let line = server.wait_for("rebuilt ");
    let lessons = fs::read_dir(dir.join("lessons")).expect("lessons").flatten().filter(|e| e.path().extension().is_some_and(|x| x == "md")).count();
    assert!(line.starts_with(&format!("rebuilt 1 of {lessons} lesson pages")), "{line}");
    let pushed = next_version(&mut events);
    assert_ne!(pushed, version);
    assert_eq!(server.get("/__lectern/version").1, pushed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.get("/03-quizzes.html").1.contains("Freshly edited heading") {
        assert!(Instant::now() < deadline, "the edit never reached the page");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.get("/__lectern/errors").1, "");
    // The search index is made again in the background, and takes the edit.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get("/pagefind/pagefind-entry.json").1 == entry {
        assert!(Instant::now() < deadline, "the search index was never made again");
        thread::sleep(Duration::from_millis(50));
    }

    // A broken edit: the diagnostics are served, the last good page stays.
    fs::write(&lesson, fs::read_to_string(&lesson).expect("lesson") + "\n::: quizz broken\n:::\n").expect("write");
    server.wait_for("still serving the last good site");
    // The write may have been seen half done (an empty file) first; the next event
    // rebuilds from the whole file.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut errors = server.get("/__lectern/errors").1;
    while !errors.contains("unknown directive `quizz`") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
        errors = server.get("/__lectern/errors").1;
    }
    assert!(errors.contains("unknown directive `quizz`"), "{errors}");
    assert!(server.get("/03-quizzes.html").1.contains("Freshly edited heading"));
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

impl Server {
    fn run(&self, key: &str, body: &str) -> (u16, String) {
        post_run(&self.address, key, &self.token(), body)
    }
}

/// POSTs `body` as the code of block `key` with the server's `token`, as its page does:
/// (status, body).
fn post_run(address: &str, key: &str, token: &str, body: &str) -> (u16, String) {
    let (status, _, body) = request(
        address,
        format!(
            "POST /__lectern/run/{key} HTTP/1.1\r\nHost: {address}\r\nOrigin: http://{address}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Lectern-Token: {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    (status, body)
}

/// The key of the first code block with a Run button on `page`.
fn runnable_key(page: &str) -> String {
    page.split("<figure class=\"code-file\" data-code=\"")
        .skip(1)
        .find(|f| f.split("</figure>").next().is_some_and(|f| f.contains("class=\"run\"")))
        .and_then(|f| f.split('"').next())
        .expect("a runnable code block")
        .to_string()
}

/// The Run button under `lectern serve`: the page posts the code as edited, it runs in the
/// sandbox and its output comes back; a second run of the same code block while the first
/// is going is refused, another block's is not.
#[test]
fn serve_runs_code_posted_by_the_page_in_the_sandbox_one_run_at_a_time_per_code_block() {
    if !std::path::Path::new("/usr/bin/bwrap").exists() {
        eprintln!("skipped: no bubblewrap");
        return;
    }
    let dir = crate::tempdir("serve-run");
    crate::site::copy_dir(&root().join("courses/guide"), &dir);
    // A second runnable block, on a page of its own.
    let lesson = dir.join("lessons/06-grading.md");
    let text = fs::read_to_string(&lesson).expect("lesson");
    fs::write(&lesson, text + "\n```python file=other.py run\nprint('the other block')\n```\n").expect("write");
    let server = Server::start(&dir);
    let (status, page) = server.get("/02-markdown.html");
    assert_eq!(status, 200);
    let key = runnable_key(&page);
    let other = runnable_key(&server.get("/06-grading.html").1);
    assert_ne!(key, other);

    let (status, out) = server.run(&key, "import os\nprint('edited', 6 * 7, os.getuid())\n");
    assert_eq!(status, 200, "{out}");
    assert!(out.contains("$ python greet.py\n"), "{out}");
    assert!(out.contains("edited 42 65534"), "runs as the sandbox's unprivileged user: {out}");

    // A failing program says how it ended; the sandbox has no network.
    let (status, out) = server.run(&key, "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\n");
    assert_eq!(status, 200);
    assert!(out.contains("Network is unreachable") && out.contains("[exit status 1]"), "{out}");

    // One at a time per code block, whoever asks.
    let slow = {
        let (address, key, token) = (server.address.clone(), key.clone(), server.token());
        thread::spawn(move || post_run(&address, &key, &token, "import time\ntime.sleep(2)\nprint('slow done')\n"))
    };
    thread::sleep(Duration::from_millis(500));
    let (status, out) = server.run(&key, "print('again')\n");
    assert_eq!(status, 429, "{out}");
    let (status, out) = server.run(&other, "print('another block')\n");
    assert_eq!((status, out.contains("another block")), (200, true), "{out}");
    let (status, out) = slow.join().expect("slow run");
    assert_eq!(status, 200);
    assert!(out.contains("slow done"), "{out}");
    // Its slot is free again.
    assert_eq!(server.run(&key, "print(1)\n").0, 200);

    assert_eq!(server.run("0000000000000000", "print(1)\n").0, 404);
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

/// Whatever another origin, a rebinding DNS name or a malformed request tries, the server
/// refuses it and goes on serving (with `--no-sandbox`, a run that passes every check is
/// answered 503 instead of running).
#[test]
fn serve_refuses_other_hosts_other_origins_requests_without_the_token_and_bad_requests() {
    let dir = crate::tempdir("serve-refuse");
    crate::site::copy_dir(&root().join("courses/guide"), &dir);
    let server = Server::start_with(&dir, &["--no-sandbox"]);
    let address = server.address.clone();
    let port = address.rsplit(':').next().expect("a port").to_string();
    let token = server.token();
    let key = runnable_key(&server.get("/02-markdown.html").1);
    let alive = || assert_eq!(server.get("/__lectern/version").0, 200, "the server still answers");

    // Host: only this server's own names, with its port (DNS rebinding).
    let get_as = |host: &str| server.request(&format!("GET / HTTP/1.1\r\n{host}Connection: close\r\n\r\n")).0;
    assert_eq!(get_as(&format!("Host: attacker.example:{port}\r\n")), 403);
    assert_eq!(get_as("Host: 127.0.0.1:1\r\n"), 403);
    assert_eq!(get_as("Host: 127.0.0.1\r\n"), 403);
    assert_eq!(get_as(""), 403);
    assert_eq!(get_as(&format!("Host: localhost:{port}\r\n")), 200);
    assert_eq!(get_as(&format!("Host: 127.0.0.1:{port}\r\n")), 200);
    // An absolute target names the server too.
    let (status, _, _) = server.request(&format!("GET http://attacker.example:{port}/ HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"));
    assert_eq!(status, 403);

    let post = |headers: &str, body: &str| {
        server.request(&format!(
            "POST /__lectern/run/{key} HTTP/1.1\r\n{headers}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    // Everything right: it gets as far as the (missing) sandbox.
    let (status, _, out) = post(&format!("Host: {address}\r\nOrigin: http://{address}\r\nX-Lectern-Token: {token}\r\n"), "print(1)\n");
    assert_eq!(status, 503, "{out}");
    assert!(out.contains("--no-sandbox"), "{out}");
    // Without an Origin (curl, say) the token is enough.
    assert_eq!(post(&format!("Host: {address}\r\nX-Lectern-Token: {token}\r\n"), "print(1)\n").0, 503);
    // The attack of the issue: another Host and Origin, even with the token.
    let (status, _, out) = post(&format!("Host: attacker.example:{port}\r\nOrigin: http://attacker.example\r\nX-Lectern-Token: {token}\r\n"), "print(1)\n");
    assert_eq!(status, 403, "{out}");
    // A page on another local port, with the token or without it (a `no-cors` text/plain
    // POST cannot carry the header).
    for origin in [format!("http://127.0.0.1:{}", port.parse::<u16>().expect("port") ^ 1), "null".into(), format!("https://{address}")] {
        let (status, _, out) = post(&format!("Host: {address}\r\nOrigin: {origin}\r\nX-Lectern-Token: {token}\r\n"), "print(1)\n");
        assert_eq!(status, 403, "{origin}: {out}");
        assert_eq!(post(&format!("Host: {address}\r\nOrigin: {origin}\r\n"), "print(1)\n").0, 403, "{origin}");
    }
    // No token, a wrong one, one of another length.
    assert_eq!(post(&format!("Host: {address}\r\nOrigin: http://{address}\r\n"), "print(1)\n").0, 403);
    let wrong: String = token.chars().rev().collect();
    assert_eq!(post(&format!("Host: {address}\r\nOrigin: http://{address}\r\nX-Lectern-Token: {wrong}\r\n"), "print(1)\n").0, 403);
    assert_eq!(post(&format!("Host: {address}\r\nOrigin: http://{address}\r\nX-Lectern-Token: {token}0\r\n"), "print(1)\n").0, 403);
    // The preflight a browser sends before a cross-origin POST with the header: refused,
    // and nothing in the answer allows anything.
    let (status, head, _) = server.request(&format!(
        "OPTIONS /__lectern/run/{key} HTTP/1.1\r\nHost: {address}\r\nOrigin: http://127.0.0.1:9876\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-lectern-token\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(status, 403, "{head}");
    assert!(!head.to_ascii_lowercase().contains("access-control-"), "{head}");

    // More code than a run takes: refused before it is read.
    let (status, _, out) = server.request(&format!(
        "POST /__lectern/run/{key} HTTP/1.1\r\nHost: {address}\r\nX-Lectern-Token: {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        (256 << 10) + 1
    ));
    assert_eq!(status, 413, "{out}");
    alive();

    // Bad paths: 400 or 404, never a dead server.
    for path in ["/%a%C3%A9", "/%ff", "/%", "/%zz.html", "/%C3"] {
        assert_eq!(server.get(path).0, 400, "{path}");
        alive();
    }
    for path in ["/../course.toml", "/..%2fcourse.toml", "/lessons/01-courses.md", "/%2e%2e/course.toml"] {
        assert_eq!(server.get(path).0, 404, "{path}");
    }
    assert_eq!(server.get("/02-markdown.html?x=1").0, 200);
    let (status, _, _) = server.request(&format!("DELETE /index.html HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"));
    assert_eq!(status, 405);

    // A header of a few MiB: refused (431, or the connection closed), the server goes on.
    let mut huge = format!("GET / HTTP/1.1\r\nHost: {address}\r\nX-Big: ").into_bytes();
    huge.resize(huge.len() + (4 << 20), b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let (status, _, _) = request(&address, &huge);
    assert!(status == 431 || status == 0, "{status}");
    alive();
    // So is a request line of a few MiB.
    let mut long = b"GET /".to_vec();
    long.resize(long.len() + (4 << 20), b'a');
    long.extend_from_slice(format!(" HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes());
    let (status, _, _) = request(&address, &long);
    assert!(status >= 400 || status == 0, "{status}");
    alive();
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

/// In a real browser: a page on another local port cannot start a run, neither with a
/// `no-cors` POST nor with a guessed token (its preflight is refused); the author's page
/// runs code, and reloads when the lesson is edited.
#[test]
fn serve_runs_for_its_own_page_in_a_browser_and_not_for_a_page_of_another_origin() {
    use crate::browser::Driver;
    if !std::path::Path::new("/usr/bin/bwrap").exists() {
        eprintln!("skipped: no bubblewrap");
        return;
    }
    if !crate::browser::browser_or_skip("browser test") {
        return;
    }
    let dir = crate::tempdir("serve-browser");
    crate::site::copy_dir(&root().join("courses/guide"), &dir.join("course"));
    let server = Server::start(&dir.join("course"));
    let key = runnable_key(&server.get("/02-markdown.html").1);
    // The other origin: a page on another port of this machine.
    let evil = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let evil_address = evil.local_addr().expect("address").to_string();
    let target = format!("http://{}/__lectern/run/{key}", server.address);
    let page = format!("<!doctype html><title>evil</title><script>window.target = {target:?};</script>");
    thread::spawn(move || {
        for mut stream in evil.incoming().flatten() {
            let mut buf = [0; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}", page.len());
        }
    });
    fs::create_dir_all(dir.join("downloads")).expect("mkdir");
    let driver = Driver::start(&dir.join("profile"), &dir.join("downloads"));
    let go = |url: &str| driver.go(url);

    go(&format!("http://{evil_address}/evil.html"));
    // A slow program, posted `no-cors` (a simple request, no preflight): were it run, the
    // code block would be busy for 3 s.
    let answer = driver.script(
        "window.noCors = 'pending';
         fetch(window.target, {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},
                               body: 'import time\\ntime.sleep(3)\\n'})
           .then(r => { window.noCors = 'answered ' + r.type; }, e => { window.noCors = 'error ' + e; });
         return fetch(window.target, {method: 'POST', headers: {'Content-Type': 'text/plain', 'X-Lectern-Token': '00000000000000000000000000000000'},
                                      body: 'import time\\ntime.sleep(3)\\n'})
           .then(r => 'answered ' + r.status, e => 'error ' + e)
           .then(a => new Promise(done => setTimeout(() => done(a), 300)));",
    );
    // The preflight was refused, so the POST was never sent.
    let answer = answer.as_str().unwrap_or("").to_string();
    assert!(answer.starts_with("error TypeError"), "{answer}");
    // Nothing is running: the author's run of the same block starts at once.
    let (status, out) = server.run(&key, "print('free')\n");
    assert_eq!(status, 200, "{out}");
    // The `no-cors` POST was answered at once (with the refusal, which the page cannot
    // read), not after a run.
    let no_cors = driver.script("return window.noCors");
    assert_eq!(no_cors.as_str(), Some("answered opaque"));

    // The author's own page: the Run button runs the code as it stands in the page.
    go(&format!("http://{}/02-markdown.html", server.address));
    let figure = format!(".code-file[data-code='{key}']");
    driver.script(&format!("document.querySelector(\"{figure} pre code\").innerText = 'print(\"from the page\", 6 * 7)'; document.querySelector(\"{figure} button.run\").click(); return 1"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = driver.script(&format!("return document.querySelector(\"{figure} .terminal-output\").textContent")).as_str().unwrap_or("").to_string();
        if out.contains("from the page 42") {
            break;
        }
        assert!(Instant::now() < deadline, "the run never showed: {out}");
        thread::sleep(Duration::from_millis(100));
    }

    // An edit reaches the open page over the live-reload stream.
    let lesson = dir.join("course/lessons/02-markdown.md");
    let text = fs::read_to_string(&lesson).expect("lesson");
    fs::write(&lesson, text.replacen("## ", "## Pushed to the open page\n\n## ", 1)).expect("write");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !driver.script("return document.body.textContent").as_str().is_some_and(|t| t.contains("Pushed to the open page")) {
        assert!(Instant::now() < deadline, "the page never reloaded");
        thread::sleep(Duration::from_millis(100));
    }
    drop(driver);
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

/// Search, in a real browser: Chinese and English words of the ai012 lesson (quiz and
/// challenge prompts among them) find it under `serve`, a guide lesson is told from the
/// others, and a site opened from files says why search is not there.
#[test]
fn search_finds_chinese_and_english_words_in_a_browser() {
    use crate::browser::Driver;
    if !crate::browser::browser_or_skip("browser test") {
        return;
    }
    let dir = crate::tempdir("search-browser");
    fs::create_dir_all(dir.join("downloads")).expect("mkdir");
    let driver = Driver::start(&dir.join("profile"), &dir.join("downloads"));
    let go = |url: &str| driver.go(url);
    // Types `query` into the search box; the result links (page names) and the status line.
    let search = |query: &str| -> (Vec<String>, String) {
        driver.script(&format!(
            "document.getElementById('site-search-status').textContent = '';
             const box = document.getElementById('site-search'); box.value = {query:?};
             box.dispatchEvent(new Event('input', {{bubbles: true}})); return 1"
        ));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = driver.script(
                "const s = document.getElementById('site-search-status').textContent;
                 const links = [...document.querySelectorAll('#site-search-results a')].map(a => a.getAttribute('href'));
                 return [s, links];",
            );
            let status = found[0].as_str().unwrap_or("").to_string();
            if !status.is_empty() {
                let links = found[1].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect();
                return (links, status);
            }
            assert!(Instant::now() < deadline, "no search answer for {query}");
            thread::sleep(Duration::from_millis(100));
        }
    };

    // The index is made in the background once the pages are out.
    let indexed = |server: &Server| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.get("/pagefind/pagefind.js").0 != 200 {
            assert!(Instant::now() < deadline, "no search index is served");
            thread::sleep(Duration::from_millis(50));
        }
    };
    let ai012 = Server::start(&root().join("courses/ai012"));
    indexed(&ai012);
    go(&format!("http://{}/index.html", ai012.address));
    // 注意力 (attention) from the prose, 交叉注意力 from a challenge, a quiz's KV, and English.
    for query in ["注意力", "cross-attention", "KV", "解碼器"] {
        let (links, status) = search(query);
        assert!(links.iter().any(|l| l.ends_with("02-llm-architectures.html")), "{query}: {links:?} ({status})");
    }
    let (links, status) = search("zzyzxnotaword");
    assert!(links.is_empty(), "{links:?}");
    assert!(status.contains("No page"), "{status}");
    // A result opens its page.
    let (links, _) = search("KV");
    let href = links.first().expect("a result").clone();
    go(&format!("http://{}/{}", ai012.address, href.trim_start_matches('/')));
    drop(ai012);

    // In a course of several lessons, a word of one lesson finds that lesson first.
    let guide = Server::start(&root().join("courses/guide"));
    indexed(&guide);
    go(&format!("http://{}/index.html", guide.address));
    let (links, status) = search("seccomp");
    assert!(links.first().is_some_and(|l| l.contains("05-exercises")), "seccomp: {links:?} ({status})");
    drop(guide);

    // From files, the box says what is needed instead of failing silently.
    let site = dir.join("site");
    let output = lectern(&root(), &["build", "courses/ai012", "--out", &site.to_string_lossy(), "--no-run"]);
    assert_eq!(output.status.code(), Some(0), "{}", crate::transcript(&output));
    driver.open(&site.join("index.html"));
    let (links, status) = search("KV");
    assert!(links.is_empty() && status.contains("served over HTTP"), "{links:?} {status}");
    drop(driver);
    let _ = fs::remove_dir_all(&dir);
}

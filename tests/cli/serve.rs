//! `lectern serve`: serves the site, rebuilds only what an edit changed, and keeps the
//! last good site up (with the diagnostics for the page) when an edit breaks the course.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use std::{fs, thread};

use crate::root;

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
        let mut child = Command::new(env!("CARGO_BIN_EXE_lectern"))
            .args(["serve", &course.to_string_lossy(), "--port", "0"])
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
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
        (status, body)
    }
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
    assert!(page.contains("data-serve="), "pages under serve poll for reloads");
    assert_eq!(server.get("/nowhere.html").0, 404);
    let version = server.get("/__lectern/version").1;

    // An edit to one lesson's body re-renders that page only.
    let lesson = dir.join("lessons/03-quizzes.md");
    let text = fs::read_to_string(&lesson).expect("lesson");
    fs::write(&lesson, text.replacen("## ", "## Freshly edited heading\n\n## ", 1)).expect("write");
    let line = server.wait_for("rebuilt ");
    assert!(line.starts_with("rebuilt 1 of 6 lesson pages"), "{line}");
    assert_ne!(server.get("/__lectern/version").1, version);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.get("/03-quizzes.html").1.contains("Freshly edited heading") {
        assert!(Instant::now() < deadline, "the edit never reached the page");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.get("/__lectern/errors").1, "");

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
    fn run(&self, key: &str, client: &str, body: &str) -> (u16, String) {
        post_run(&self.address, key, client, body)
    }
}

/// POSTs `body` as the code of block `key` from page `client`: (status, body).
fn post_run(address: &str, key: &str, client: &str, body: &str) -> (u16, String) {
    {
        let mut stream = TcpStream::connect(address).expect("connect");
        write!(
            stream,
            "POST /__lectern/run/{key} HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nX-Lectern-Client: {client}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
        (status, body)
    }
}

/// The Run button under `lectern serve`: the page posts the code as edited, it runs in the
/// sandbox and its output comes back; a second run from the same page while the first is
/// going is refused, another page's is not.
#[test]
fn serve_runs_code_posted_by_the_page_in_the_sandbox_one_run_at_a_time_per_client() {
    if !std::path::Path::new("/usr/bin/bwrap").exists() {
        eprintln!("skipped: no bubblewrap");
        return;
    }
    let dir = crate::tempdir("serve-run");
    crate::site::copy_dir(&root().join("courses/guide"), &dir);
    let server = Server::start(&dir);
    let (status, page) = server.get("/02-markdown.html");
    assert_eq!(status, 200);
    // The first figure with a Run button.
    let key = page
        .split("<figure class=\"code-file\" data-code=\"")
        .skip(1)
        .find(|f| f.split("</figure>").next().is_some_and(|f| f.contains("class=\"run\"")))
        .and_then(|f| f.split('"').next())
        .expect("a runnable code block")
        .to_string();

    let (status, out) = server.run(&key, "pageA", "import os\nprint('edited', 6 * 7, os.getuid())\n");
    assert_eq!(status, 200, "{out}");
    assert!(out.contains("$ python greet.py\n"), "{out}");
    assert!(out.contains("edited 42 65534"), "runs as the sandbox's unprivileged user: {out}");

    // A failing program says how it ended; the sandbox has no network.
    let (status, out) = server.run(&key, "pageA", "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\n");
    assert_eq!(status, 200);
    assert!(out.contains("Network is unreachable") && out.contains("[exit status 1]"), "{out}");

    // One at a time per page.
    let slow = {
        let address = server.address.clone();
        let key = key.clone();
        thread::spawn(move || {
            post_run(&address, &key, "pageB", "import time\ntime.sleep(2)\nprint('slow done')\n")
        })
    };
    thread::sleep(Duration::from_millis(500));
    let (status, out) = server.run(&key, "pageB", "print('again')\n");
    assert_eq!(status, 429, "{out}");
    let (status, out) = server.run(&key, "pageC", "print('another page')\n");
    assert_eq!((status, out.contains("another page")), (200, true), "{out}");
    let (status, out) = slow.join().expect("slow run");
    assert_eq!(status, 200);
    assert!(out.contains("slow done"), "{out}");
    // Its slot is free again.
    assert_eq!(server.run(&key, "pageB", "print(1)\n").0, 200);

    assert_eq!(server.run("0000000000000000", "pageA", "print(1)\n").0, 404);
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

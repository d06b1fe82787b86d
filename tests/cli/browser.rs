//! The built ai012 lesson in a real browser (headless Chromium over WebDriver): answer
//! Question 1 wrong and right and read the feedback, reveal a step's solution, keep the
//! answers across a reload, and in exam mode download `answers.toml` and read it back.
//! Screenshots (desktop and phone width) are saved under `target/screenshots/`.
//!
//! Accessibility, measured: axe-core (the npm package `.ci/run` installs; found at
//! `$LECTERN_AXE_CORE`, else in `~/.cache/lectern-ci/npm`) runs at WCAG 2.1 A and AA on
//! the index and the ai012 lesson in both modes, a page of every block kind (exercise
//! and every quiz kind), a grading `report.html` and its `similarity.html` (with a pair
//! of copied step answers marked), in the light and dark schemes;
//! and every quiz kind is answered and checked with the keyboard alone.
//!
//! Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them). Without them
//! the test fails, unless LECTERN_SKIP_BROWSER=1 says to skip it on purpose.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use std::{fs, thread};

use serde_json::{json, Value};

use crate::{lectern, root, transcript};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const DRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser tests can run: Chromium and its driver are installed. Without
/// them, `false` when LECTERN_SKIP_BROWSER says to skip on purpose (saying so), else a
/// failure that names what to install.
pub(crate) fn browser_or_skip(what: &str) -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(DRIVER).exists() {
        return true;
    }
    if std::env::var_os("LECTERN_SKIP_BROWSER").is_some() {
        eprintln!("{what} skipped: LECTERN_SKIP_BROWSER is set");
        return false;
    }
    panic!("{CHROMIUM} and {DRIVER} are needed (apt-get install chromium chromium-driver), or set LECTERN_SKIP_BROWSER=1");
}

pub(crate) struct Driver {
    child: Child,
    port: u16,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) fn start(profile: &Path, downloads: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Driver { child, port, session: String::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        while driver.call("GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never answered");
            thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.display()),
                         "--window-size=1280,1800"],
                "prefs": {"download.default_directory": downloads.to_string_lossy(),
                          "download.prompt_for_download": false}
            }
        }}});
        let reply = driver.call("POST", "/session", Some(capabilities)).expect("a browser session");
        driver.session = reply["value"]["sessionId"].as_str().expect("session id").to_string();
        driver
    }

    /// One WebDriver command; the reply's JSON, or the error it carried.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .map_err(|e| e.to_string())?;
        // chromedriver keeps connections open: read the head, then Content-Length bytes.
        stream.set_read_timeout(Some(Duration::from_secs(120))).map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).map_err(|e| e.to_string())? == 0 {
                break;
            }
            raw.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&raw).into_owned();
        let length = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let mut payload = vec![0u8; length];
        stream.read_exact(&mut payload).map_err(|e| e.to_string())?;
        let payload = String::from_utf8_lossy(&payload);
        let json_text = if payload.trim().is_empty() { "{}" } else { payload.as_ref() };
        let value: Value = serde_json::from_str(json_text).map_err(|e| format!("{e}: {payload}"))?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(value["value"]["message"].as_str().unwrap_or(&head).to_string());
        }
        Ok(value)
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))["value"].clone()
    }

    /// Loads `url` in the page and waits (10 s at most) until it is complete there.
    pub(crate) fn go(&self, url: &str) {
        self.script(&format!("location.href = {url:?}; return 1"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.script("return document.readyState + ' ' + location.href").as_str() != Some(format!("complete {url}").as_str()) {
            assert!(Instant::now() < deadline, "{url} never loaded");
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn open(&self, file: &Path) {
        self.cmd("POST", "/url", Some(json!({"url": format!("file://{}", file.display())})));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).expect("an element id").to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/value"), Some(json!({"text": text})));
    }

    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.cmd("GET", &format!("/element/{id}/text"), None).as_str().unwrap_or("").to_string()
    }

    /// Presses keys as a keyboard does, one after another: each char of `keys`
    /// (WebDriver's key codes included, such as `\u{e004}` for Tab).
    fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys.chars().flat_map(|c| [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]).collect();
        self.cmd("POST", "/actions", Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})));
    }

    pub(crate) fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": js, "args": []})))
    }

    fn screenshot(&self, to: &Path) {
        let data = self.cmd("GET", "/screenshot", None);
        let png = base64(data.as_str().expect("base64 PNG"));
        fs::create_dir_all(to.parent().expect("folder")).expect("mkdir");
        fs::write(to, png).expect("write screenshot");
    }
}

fn base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = s.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &d)| n | (u32::from(d) << (18 - 6 * i)));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

fn build(mode: &str, out: &Path) {
    let output = lectern(&root(), &["build", "courses/ai012", "--out", &out.to_string_lossy(), "--mode", mode]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}

#[test]
fn a_student_answers_checks_reveals_and_hands_in_in_a_real_browser() {
    if !browser_or_skip("browser test") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("lectern-browser-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let (practice, exam, downloads) = (tmp.join("practice"), tmp.join("exam"), tmp.join("downloads"));
    fs::create_dir_all(&downloads).expect("mkdir");
    build("practice", &practice);
    build("exam", &exam);
    let driver = Driver::start(&tmp.join("profile"), &downloads);
    let lesson = practice.join("02-llm-architectures.html");
    driver.open(&lesson);

    // Question 1, wrong then right.
    driver.click("#quiz-q1 input[value=B]");
    driver.click("#quiz-q1 button.check");
    assert_eq!(driver.text("#quiz-q1 .feedback"), "Not quite");
    assert!(driver.script("return !document.querySelector('#quiz-q1 .explanation').hidden").as_bool().unwrap_or(false));
    driver.click("#quiz-q1 input[value=A]");
    driver.click("#quiz-q1 button.check");
    assert_eq!(driver.text("#quiz-q1 .feedback"), "Correct");

    // The Run button shows what the build captured when it ran the file in the sandbox.
    assert!(driver.text(".code-file .terminal-output").contains("Ready"));
    driver.click(".code-file button.run");
    let terminal = driver.text(".code-file .terminal-output");
    assert!(terminal.contains("$ python arch_comparison.py") && terminal.contains("KV cache"), "{terminal}");

    // A step's solution, revealed on request.
    assert_eq!(driver.text("#challenge-bottleneck [data-step=step1] details.solution .solution-title"), "");
    driver.click("#challenge-bottleneck [data-step=step1] details.solution summary");
    let solution = driver.text("#challenge-bottleneck [data-step=step1] details.solution");
    assert!(solution.contains("Encoder-Decoders must process the entire long input"), "{solution}");

    // The answer survives a reload.
    driver.type_into("#challenge-bottleneck textarea", "cross-attention over the whole input");
    driver.open(&lesson);
    assert!(driver.script("return document.querySelector('#quiz-q1 input[value=A]').checked").as_bool().unwrap_or(false));

    let shots = root().join("target/screenshots");
    driver.screenshot(&shots.join("ai012-desktop.png"));
    driver.cmd("POST", "/window/rect", Some(json!({"width": 390, "height": 844})));
    driver.screenshot(&shots.join("ai012-phone.png"));
    driver.cmd("POST", "/window/rect", Some(json!({"width": 1280, "height": 1800})));

    // Exam mode: no checking in the page; the hand-in downloads as answers.toml.
    driver.script("localStorage.clear()");
    driver.open(&exam.join("02-llm-architectures.html"));
    assert_eq!(driver.script("return document.querySelectorAll('button.check, [data-key]').length"), json!(0));
    driver.type_into("#student-id", "s-browser");
    driver.click("#quiz-q1 input[value=A]");
    driver.click("#quiz-q2 input[value=C]");
    driver.type_into("#challenge-bottleneck [data-step=step1] textarea", "The encoder reads the whole input; cross-attention \"costs\".");
    driver.click("button.download-answers");
    let file = downloads.join("answers.toml");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() {
        assert!(Instant::now() < deadline, "answers.toml was never downloaded");
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(200));
    let text = fs::read_to_string(&file).expect("answers.toml");
    let answers: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(answers["student"].as_str(), Some("s-browser"), "{text}");
    let lesson = &answers["lessons"]["02-llm-architectures"];
    assert_eq!(lesson["quiz"]["q1"].as_str(), Some("A"), "{text}");
    assert_eq!(lesson["quiz"]["q2"].as_str(), Some("C"), "{text}");
    assert_eq!(
        lesson["challenge"]["bottleneck"]["step1"].as_str(),
        Some("The encoder reads the whole input; cross-attention \"costs\"."),
        "{text}"
    );

    // A tall display formula (sums with limits, a fraction) shows whole: no vertical
    // scroll box around it.
    let site = tmp.join("one-document");
    let output = lectern(&root(), &["build", "tests/fixtures/site/one-document", "--out", &site.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    driver.open(&site.join("01-cost.html"));
    let sizes = driver.script("const m = document.querySelector('.math-display'); m.scrollIntoView(); return [m.scrollHeight, m.clientHeight, m.getBoundingClientRect().height];");
    let (scroll, client) = (sizes[0].as_f64().unwrap_or(0.0), sizes[1].as_f64().unwrap_or(0.0));
    assert!(client > 40.0 && scroll <= client, "the formula scrolls vertically: {sizes}");
    driver.screenshot(&shots.join("tall-formula.png"));
    drop(driver);
    let _ = fs::remove_dir_all(&tmp);
}

/// Where `.ci/run` installs axe-core's `axe.min.js`: `$LECTERN_AXE_CORE`, else the
/// npm cache it uses (`~/.cache/lectern-ci/npm`), else a `node_modules` at the root.
fn axe_core() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("LECTERN_AXE_CORE") {
        return Some(path.into());
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")));
    let installed = "node_modules/axe-core/axe.min.js";
    cache.map(|c| c.join("lectern-ci/npm").join(installed)).into_iter().chain([root().join(installed)]).find(|p| p.is_file())
}

/// Rules switched off, each with its reason. Empty: every WCAG 2.1 A/AA rule runs.
const AXE_WAIVED: &[(&str, &str)] = &[];

/// Runs axe-core in the open page at WCAG 2.1 A and AA; one line per violation.
fn axe_violations(driver: &Driver, axe: &str) -> Vec<String> {
    assert_eq!(driver.script(&format!("{axe}\nreturn typeof window.axe;")), json!("object"), "axe.min.js did not load");
    let rules: serde_json::Map<String, Value> = AXE_WAIVED.iter().map(|(id, _)| ((*id).to_owned(), json!({"enabled": false}))).collect();
    let run = format!(
        "const done = arguments[arguments.length - 1];
         axe.run(document, {{runOnly: {{type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}, rules: {}}})
           .then((r) => done(r.violations.map((v) => ({{id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
                 targets: v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '').split('\\n').slice(1, 2).join(''))}}))))
           .catch((e) => done([{{id: 'axe-error', impact: 'error', help: String(e), count: 1, targets: []}}]));",
        Value::Object(rules)
    );
    let found = driver.cmd("POST", "/execute/async", Some(json!({"script": run, "args": []})));
    found
        .as_array()
        .unwrap_or_else(|| panic!("axe.run gave no list of violations: {found}"))
        .iter()
                .map(|v| {
                    let targets: Vec<&str> = v["targets"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                    format!("{} ({}, {} nodes): {}\n      {}", v["id"].as_str().unwrap_or("?"), v["impact"].as_str().unwrap_or("?"), v["count"], v["help"].as_str().unwrap_or(""), targets.join("\n      "))
        })
        .collect()
}

#[test]
fn axe_core_finds_no_wcag_21_aa_violation_on_the_built_pages() {
    if !browser_or_skip("accessibility test") {
        return;
    }
    let Some(axe_path) = axe_core() else {
        eprintln!(
            "accessibility test skipped: axe-core is not installed \
             (`npm install --prefix ~/.cache/lectern-ci/npm axe-core`, as .ci/run does, or LECTERN_AXE_CORE=path/to/axe.min.js)"
        );
        return;
    };
    let axe = fs::read_to_string(&axe_path).unwrap_or_else(|e| panic!("{}: {e}", axe_path.display()));
    let tmp = std::env::temp_dir().join(format!("lectern-axe-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let (practice, exam, elements) = (tmp.join("practice"), tmp.join("exam"), tmp.join("elements"));
    build("practice", &practice);
    build("exam", &exam);
    // Every block the site renders, exercises and each quiz kind included.
    let output = lectern(&root(), &["build", "tests/fixtures/site/elements", "--out", &elements.to_string_lossy(), "--no-run"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    // A small class: a graded hand-in, a partial one, one that cannot be read.
    let (subs, graded) = (tmp.join("subs"), tmp.join("graded"));
    for (student, text) in [
        ("s1", "[lessons.01-quizzes.quiz]\nsingle = \"B\"\nall = [\"A\", \"C\"]\n[lessons.02-challenge.challenge.bottleneck]\nstep1 = \"cross-attention over the whole input\"\n"),
        ("s2", "student = \"s2\"\n[lessons.01-quizzes.quiz]\nsingle = \"A\"\n[lessons.02-challenge.challenge.bottleneck]\nstep1 = \"Cross-attention, over the whole input!\"\n"),
        ("s3", "[lessons.01-quizzes\n"),
    ] {
        fs::create_dir_all(subs.join(student)).expect("mkdir");
        fs::write(subs.join(student).join("answers.toml"), text).expect("write");
    }
    let output = lectern(
        &root(),
        &["grade", "tests/fixtures/grade/course", &subs.to_string_lossy(), "--out", &graded.to_string_lossy()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));

    let driver = Driver::start(&tmp.join("profile"), &tmp.join("downloads"));
    let mut report = Vec::new();
    // Each page in the light and the dark scheme, as loaded and then with everything
    // shown that a student can bring up: every check's feedback and explanation, every
    // solution and hint, every Run's terminal output (axe skips what is hidden).
    for scheme in ["light", "dark"] {
        driver.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}})),
        );
        for page in [
            practice.join("index.html"),
            practice.join("02-llm-architectures.html"),
            exam.join("index.html"),
            exam.join("02-llm-architectures.html"),
            elements.join("01-everything.html"),
            graded.join("report.html"),
            graded.join("similarity.html"),
        ] {
            driver.script("localStorage.clear()");
            driver.open(&page);
            let name = page.strip_prefix(&tmp).unwrap_or(&page).display().to_string();
            let dark = driver.script("return matchMedia('(prefers-color-scheme: dark)').matches");
            assert_eq!(dark, json!(scheme == "dark"), "{name} is not in the {scheme} scheme");
            for violation in axe_violations(&driver, &axe) {
                report.push(format!("{name} ({scheme}): {violation}"));
            }
            let shown = driver.script(
                "document.querySelectorAll('.quiz input[type=radio][value=B], .quiz input[type=checkbox][value=A]').forEach((i) => i.click());
                 document.querySelectorAll('button.check, .code-file button.run').forEach((b) => b.click());
                 document.querySelectorAll('details').forEach((d) => { d.open = true; });
                 return document.querySelectorAll('button.check, .code-file button.run, details').length;",
            );
            if shown.as_u64().unwrap_or(0) > 0 {
                for violation in axe_violations(&driver, &axe) {
                    report.push(format!("{name} ({scheme}, all shown): {violation}"));
                }
            }
        }
    }
    drop(driver);
    assert!(report.is_empty(), "axe-core ({}) found WCAG 2.1 AA violations:\n  {}", axe_path.display(), report.join("\n  "));
    let _ = fs::remove_dir_all(&tmp);
}

const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";
const ARROW_DOWN: &str = "\u{e015}";

/// Tabs through the page until the focus is on `css`; how many Tabs it took.
fn tab_to(driver: &Driver, css: &str) -> usize {
    let probe = format!("return document.activeElement === document.querySelector({css:?});");
    for n in 1..=300 {
        driver.press(TAB);
        if driver.script(&probe).as_bool().unwrap_or(false) {
            return n;
        }
    }
    panic!("300 Tabs never reached {css}; the focus is on {}", driver.script("return document.activeElement.outerHTML.slice(0, 200)"));
}

#[test]
fn every_quiz_kind_is_answered_and_checked_with_the_keyboard_alone() {
    if !browser_or_skip("keyboard test") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("lectern-keyboard-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let site = tmp.join("elements");
    let output = lectern(&root(), &["build", "tests/fixtures/site/elements", "--out", &site.to_string_lossy(), "--no-run"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let driver = Driver::start(&tmp.join("profile"), &tmp.join("downloads"));
    driver.open(&site.join("01-everything.html"));
    driver.script("localStorage.clear()");
    driver.open(&site.join("01-everything.html"));
    let verdict = |quiz: &str| {
        let feedback = driver.text(&format!("#quiz-{quiz} .feedback"));
        let verdict = driver.script(&format!("return document.querySelector('#quiz-{quiz} .feedback').dataset.verdict || ''"));
        assert!(!feedback.is_empty() && ["correct", "partly_correct", "incorrect"].contains(&verdict.as_str().unwrap_or("")), "{quiz}: {verdict} {feedback:?}");
    };
    let focused_is = |css: &str| driver.script(&format!("return document.activeElement === document.querySelector({css:?});")).as_bool().unwrap_or(false);

    // One choice: Tab into the group, Space picks the focused option, an arrow moves the
    // choice; the next Tab leaves the group for Check, and Enter checks.
    tab_to(&driver, "#quiz-single-q input[value=A]");
    driver.press(" ");
    driver.press(ARROW_DOWN);
    assert_eq!(driver.script("return document.querySelector('#quiz-single-q input:checked').value"), json!("B"));
    driver.press(TAB);
    assert!(focused_is("#quiz-single-q button.check"), "Tab from the options goes to Check");
    driver.press(ENTER);
    verdict("single-q");

    // Several choices: Space toggles each box, Tab goes from box to box.
    tab_to(&driver, "#quiz-multi-q input[value=A]");
    driver.press(&format!(" {TAB}{TAB} "));
    let chosen = driver.script("return [...document.querySelectorAll('#quiz-multi-q input:checked')].map((i) => i.value)");
    assert_eq!(chosen, json!(["A", "C"]));
    tab_to(&driver, "#quiz-multi-q button.check");
    driver.press(ENTER);
    verdict("multi-q");

    // A number and a text: typed, then Tab to Check and Enter.
    tab_to(&driver, "#quiz-num-q input[type=text]");
    driver.press("42");
    driver.press(TAB);
    assert!(focused_is("#quiz-num-q button.check"), "Tab from the number goes to Check");
    driver.press(ENTER);
    verdict("num-q");
    tab_to(&driver, "#quiz-text-q input[type=text]");
    driver.press("attention");
    driver.press(TAB);
    assert!(focused_is("#quiz-text-q button.check"), "Tab from the text goes to Check");
    driver.press(ENTER);
    verdict("text-q");

    // What was answered by keyboard is what the hand-in holds.
    let toml_text = driver.script("return window.lecternAnswersToml()");
    let toml_text = toml_text.as_str().unwrap_or("");
    let answers: toml::Table = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
    let quiz = &answers["lessons"]["01-everything"]["quiz"];
    assert_eq!(quiz["single-q"].as_str(), Some("B"), "{toml_text}");
    assert_eq!(quiz["multi-q"], toml::Value::Array(vec!["A".into(), "C".into()]), "{toml_text}");
    assert_eq!(quiz["num-q"].as_str(), Some("42"), "{toml_text}");
    assert_eq!(quiz["text-q"].as_str(), Some("attention"), "{toml_text}");
    drop(driver);
    let _ = fs::remove_dir_all(&tmp);
}

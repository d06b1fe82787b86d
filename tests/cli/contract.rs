//! The answer contract, held in both languages: the built page's Check (in headless
//! Chromium) and `lectern grade` judge the same generated answers, and must give the
//! same verdict to every one. The answers go from the page to the grader the way
//! students hand them in: typed into the page, written by its `answers.toml` writer,
//! read by the grader — so the writer and the reader are tested against each other and
//! against the typed format ([`lectern_lesson::answer::AnswersFile`]).
//!
//! Fixture: `tests/fixtures/contract/course`, one quiz of each kind the page checks.

use std::collections::BTreeMap;
use std::fs;

use lectern_lesson::answer::AnswersFile;
use serde_json::{json, Value};

use crate::browser::Driver;
use crate::{lectern, root, tempdir, transcript};

/// Numbers as students type them: every value in every spelling, with every unit form.
fn numbers(values: &[&str], units: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for v in values {
        for u in units {
            out.push(format!("{v}{u}"));
        }
    }
    out
}

/// `1000` as `1,000`, `1 000`, `1 000` (narrow no-break space) and `１０００`.
fn spellings(v: &str) -> Vec<String> {
    let (int, frac) = v.split_once('.').map_or((v, None), |(i, f)| (i, Some(f)));
    let (sign, digits) = if let Some(d) = int.strip_prefix('-') { ("-", d) } else { ("", int) };
    let group = |sep: &str| {
        let chars: Vec<char> = digits.chars().collect();
        let mut s = String::new();
        for (i, c) in chars.iter().enumerate() {
            if i > 0 && (chars.len() - i).is_multiple_of(3) {
                s.push_str(sep);
            }
            s.push(*c);
        }
        format!("{sign}{s}{}", frac.map(|f| format!(".{f}")).unwrap_or_default())
    };
    let full_width: String = v.chars().map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap_or(c) } else { c }).collect();
    vec![v.to_owned(), group(","), group(" "), group("\u{202f}"), full_width, v.replacen('-', "\u{2212}", 1)]
}

fn answers() -> BTreeMap<&'static str, Vec<Value>> {
    let mut mem: Vec<String> = Vec::new();
    for v in ["1000", "999", "1001", "1000.0000001", "1000.000002", "10000", "100", "1000.5"] {
        for s in spellings(v) {
            mem.extend(numbers(&[&s], &["", " MiB", "MiB", " mib", "\u{a0}MiB", " ＭｉＢ", " MB", " GiB", "m"]));
        }
    }
    mem.extend(
        [
            "1e3", "1.0e3", "1E3 MiB", "+1000", "1,5", "10,00", "1 0000", "1000 000", "about 1000", "1000 M i B", "0x3E8", "1_000", "١٠٠٠", "1000\u{200b}",
            "\u{a0}1000\u{a0}", "1e400", ".5", "5.", "-", "1.2.3", "1000e", "1000 e", "1,000,000", "1'000", "½", "MiB", "1000 MiB extra", "∞", "NaN",
            "1000\u{85}", "\u{feff}1000", "1000 %", "1,000.0 MiB", "1 000.000 MiB", "1000.", "-1000", "0", "1.000,5",
            "10³", "10³ MiB", "１０³", "0,001", "01,000", "1000 MiB²", "1000 Mi\u{2014}B", "1e3\u{2009}MiB",
        ]
        .map(String::from),
    );
    let ppl = ["15.26", "14.9548", "14.9547", "15.5652", "15.5653", "15", "16", "1.526e1", "0.1526e2", "15.26 ppl", "15,26", "１５.２６", "15.26\u{2009}"].map(String::from);
    let small = ["-0.3", "\u{2212}0.3", "−.3", "-0.2", "-0.4", "-0.41", "-0.19", "0.3", "-3e-1", "- 0.3", "‐0.3", "–0.3", "—0.3", "-.30"].map(String::from);
    let mut words: Vec<String> = Vec::new();
    for base in ["don't", "decoder-only", "cross-attention", "kv cache", "kv-cache", "kvcache", "4 heads", "1 head", "οδός", "僅解碼器"] {
        words.push(base.to_owned());
        words.push(base.to_uppercase());
        words.push(format!("  {base}\u{3000}"));
        words.push(base.replace('\'', "\u{2019}"));
        words.push(base.replace('\'', "\u{2018}"));
        words.push(base.replace('\'', "`"));
        words.push(base.replace('\'', "\u{2032}"));
        for dash in ['\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2212}', '\u{ad}', '\u{ff0d}'] {
            words.push(base.replace('-', &dash.to_string()));
        }
        words.push(base.replace(' ', "\u{a0}"));
        words.push(base.replace(' ', "\u{200b}"));
        words.push(base.replace(' ', "  \t"));
        words.push(format!("the {base}"));
        words.push(format!("{base}s"));
        words.push(format!("not {base}"));
        words.push(format!("\u{85}{base}\u{feff}"));
    }
    words.extend(
        [
            "ΟΔΌΣ", "ΟΔΟΣ", "Οδός", "οδοσ", "kv cache!", "my kv cache", "akv cache", "ákv cache", "kv cachex", "kv_cache", "٣ heads", "３ heads", "3 heads ",
            "heads", "12 heads and more", "DON'T", "dont", "do not", "ｄｅｃｏｄｅｒ－ｏｎｌｙ", "decoder only", "僅 解碼器", "仅解码器", "\u{7f}don't", "don't\u{7f}",
            "<LONE>don't", "don't<LONE>", "\"don't\"", "don\\'t", "",
        ]
        .map(String::from),
    );
    let letters = ["A", "B", "C", "D"];
    let mut subsets: Vec<Value> = Vec::new();
    for mask in 0u32..16 {
        let chosen: Vec<&str> = (0..4).filter(|i| mask & (1 << i) != 0).map(|i| letters[i]).collect();
        subsets.push(json!(chosen));
    }
    BTreeMap::from([
        ("mem", mem.into_iter().map(Value::from).collect()),
        ("ppl", ppl.into_iter().map(Value::from).collect()),
        ("small", small.into_iter().map(Value::from).collect()),
        ("words", words.into_iter().map(Value::from).collect()),
        ("one", ["", "A", "B", "C", "D"].map(Value::from).to_vec()),
        ("aon", subsets.clone()),
        ("rmw", subsets),
    ])
}

/// Types the answers of one hand-in into the page, checks each quiz, and returns the
/// verdicts and the page's `answers.toml`.
const TYPE_AND_CHECK: &str = r#"
const handins = JSON.parse(arguments_json);
const fix = (s) => s.split("<LONE>").join("\ud800");
const out = [];
for (const handin of handins) {
  localStorage.clear();
  const verdicts = {};
  for (const [id, answer] of Object.entries(handin)) {
    const section = document.querySelector(`[data-quiz="${id}"]`);
    const text = section.querySelector("input[type=text]");
    if (text) {
      text.value = fix(answer);
    } else {
      const chosen = Array.isArray(answer) ? answer : answer ? [answer] : [];
      section.querySelectorAll("input").forEach((el) => { el.checked = chosen.includes(el.value); });
    }
    section.dispatchEvent(new Event("input", { bubbles: true }));
    section.querySelector("button.check").click();
    verdicts[id] = section.querySelector(".feedback").dataset.verdict;
  }
  out.push({ verdicts, toml: window.lecternAnswersToml() });
}
return out;
"#;

/// The grader's verdict, from a result in `results.json`.
fn graded(result: &Value) -> String {
    let (score, max) = (result["score"].as_f64().unwrap_or(-1.0), result["max_score"].as_f64().unwrap_or(-1.0));
    let feedback = result["output"].to_string();
    if score == max {
        "correct"
    } else if score > 0.0 {
        "partly_correct"
    } else if feedback.contains("no answer") || feedback.contains("no option chosen") {
        "none"
    } else if feedback.contains("cannot be read as a number") || feedback.contains("too large") || feedback.contains("is empty") {
        "unreadable"
    } else if feedback.contains("unit") {
        "wrong_unit"
    } else {
        "incorrect"
    }
    .to_owned()
}

#[test]
fn the_page_and_the_grader_give_every_answer_the_same_verdict() {
    if !crate::browser::browser_or_skip("contract test") {
        return;
    }
    let tmp = tempdir("contract");
    let course = root().join("tests/fixtures/contract/course");
    let site = tmp.join("site");
    let output = lectern(&root(), &["build", &course.to_string_lossy(), "--out", &site.to_string_lossy(), "--mode", "practice"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));

    let answers = answers();
    let count = answers.values().map(Vec::len).max().unwrap_or(0);
    let handins: Vec<BTreeMap<&str, Value>> =
        (0..count).map(|i| answers.iter().map(|(id, list)| (*id, list[i % list.len()].clone())).collect()).collect();
    let total: usize = answers.values().map(Vec::len).sum();
    assert!(total >= 300, "a few hundred answers: {total}");

    let driver = Driver::start(&tmp.join("profile"), &tmp.join("downloads"));
    driver.open(&site.join("01-answers.html"));
    let script = format!("const arguments_json = {};\n{TYPE_AND_CHECK}", serde_json::to_string(&serde_json::to_string(&handins).unwrap_or_default()).unwrap_or_default());
    let pages = driver.script(&script);
    // A student ID the writer must escape too (DEL, a lone surrogate).
    let hostile = driver.script("localStorage.clear(); const s = document.getElementById('student-id'); s.value = 'a\\u007fb\\ud800'; s.dispatchEvent(new Event('input')); return window.lecternAnswersToml();");
    let hostile = hostile.as_str().expect("answers.toml text");
    let typed: AnswersFile = toml::from_str(hostile).unwrap_or_else(|e| panic!("the page wrote a student ID TOML refuses: {e}\n{hostile}"));
    assert_eq!(typed.student, "a\u{7f}b\u{fffd}");
    drop(driver);
    let pages = pages.as_array().expect("one result per hand-in");
    assert_eq!(pages.len(), count);

    let folder = tmp.join("handins");
    for (i, page) in pages.iter().enumerate() {
        let text = page["toml"].as_str().expect("answers.toml text");
        // The page's writer against the typed format.
        let typed: AnswersFile = toml::from_str(text).unwrap_or_else(|e| panic!("hand-in {i}: the page wrote an answers.toml the format refuses: {e}\n{text}"));
        assert!(typed.lessons.len() <= 1, "{text}");
        let dir = folder.join(format!("h{i:03}"));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join("answers.toml"), text).expect("write");
    }
    let out = tmp.join("grades");
    let output = lectern(&root(), &["grade", &course.to_string_lossy(), &folder.to_string_lossy(), "--out", &out.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));

    let mut disagreements = Vec::new();
    let mut seen = BTreeMap::<(String, String), usize>::new();
    for (i, page) in pages.iter().enumerate() {
        let results: Value = serde_json::from_str(&fs::read_to_string(out.join(format!("students/h{i:03}/results.json"))).expect("results.json")).expect("json");
        let items = results["tests"].as_array().expect("tests in results.json");
        for (id, answer) in &handins[i] {
            let result = items.iter().find(|r| r["name"].as_str().is_some_and(|n| n.starts_with(&format!("{id} (")))).unwrap_or_else(|| panic!("no result for {id}: {results}"));
            let grader = graded(result);
            let page_verdict = page["verdicts"][id].as_str().unwrap_or("none").to_owned();
            *seen.entry((id.to_string(), grader.clone())).or_default() += 1;
            if grader != page_verdict {
                disagreements.push(format!("{id} = {answer}: the page says {page_verdict}, the grader {grader} ({})", result["output"]));
            }
        }
    }
    assert!(disagreements.is_empty(), "{} of {total} answers judged differently:\n{}", disagreements.len(), disagreements.iter().take(30).cloned().collect::<Vec<_>>().join("\n"));
    // The generated answers reach every verdict (a set where all agree by being all
    // wrong would prove nothing).
    for (id, verdicts) in [("mem", &["correct", "incorrect", "unreadable", "wrong_unit"][..]), ("words", &["correct", "incorrect", "none"]), ("rmw", &["correct", "partly_correct", "incorrect", "none"])] {
        for v in verdicts {
            assert!(seen.contains_key(&(id.to_string(), v.to_string())), "no answer to {id} was judged {v}: {seen:?}");
        }
    }
    let _ = fs::remove_dir_all(&tmp);
}

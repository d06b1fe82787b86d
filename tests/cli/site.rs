//! `lectern build`: every element rendered (snapshots), exam mode without any key and
//! independent of it, reproducible output, and a build that never destroys what it
//! should not.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{lectern, root, snapshot, tempdir, transcript};

const ELEMENTS: &str = "tests/fixtures/site/elements";
/// Text that only the answer key holds; none may reach an exam site.
const KEY_MARKERS: &[&str] = &[
    "EXPLANATION_MARKER_1",
    "SOLUTION_TEXT_MARKER_2",
    "RUBRIC_FEEDBACK_MARKER_3",
    "SOLUTION_TEXT_MARKER_4",
    "HIDDEN_CASE_MARKER_5",
    "SOLUTION_FILE_MARKER_6",
];

fn build(course: &Path, out: &Path, mode: &str) -> std::process::Output {
    let output = lectern(&root(), &["build", &course.to_string_lossy(), "--out", &out.to_string_lossy(), "--mode", mode]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    output
}

/// Every file of a built site, by relative path.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        let rel = entry.strip_prefix(dir).unwrap_or(&entry).to_string_lossy().replace('\\', "/");
        out.push((rel, fs::read(&entry).unwrap_or_default()));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    for file in walk(from) {
        let target = to.join(file.strip_prefix(from).unwrap_or(&file));
        fs::create_dir_all(target.parent().unwrap_or(to)).expect("mkdir");
        fs::copy(&file, &target).expect("copy");
    }
}


#[test]
fn every_element_renders_as_snapshotted() {
    let tmp = tempdir("elements");
    for mode in ["practice", "exam"] {
        let out = tmp.join(mode);
        build(&root().join(ELEMENTS), &out, mode);
        for page in ["index.html", "01-everything.html"] {
            let html = fs::read_to_string(out.join(page)).expect("page");
            snapshot::assert(&root().join(format!("tests/snapshots/site/{mode}-{page}")), &html);
        }
    }
    let practice = fs::read_to_string(tmp.join("practice/01-everything.html")).expect("page");
    for element in [
        "<math", "<table>", "class=\"cards\"", "callout-note", "A warning title", "class=\"code-tab\">show.py",
        "class=\"run\"", "bash — 80x24", "type=\"radio\"", "type=\"checkbox\"", "inputmode=\"decimal\"",
        "KiB", "Step 2", "visible small case", "data-key=",
    ] {
        assert!(practice.contains(element), "the practice page lacks {element}");
    }
    let _ = fs::remove_dir_all(&tmp);
}

/// Rewrites every part of the fixture's key (not the number of correct options, which
/// decides radio buttons or checkboxes) into a second course.
fn with_another_key(dir: &Path) {
    let lesson = dir.join("lessons/01-everything.md");
    let text = fs::read_to_string(&lesson).expect("lesson")
        .replace("- [ ] Bidirectional\n- [x] Causal", "- [x] Bidirectional\n- [ ] Causal")
        .replace("- [x] GPT\n- [ ] BERT", "- [ ] GPT\n- [x] BERT")
        .replace("answer=128 tolerance=2%", "answer=256 tolerance=0.5")
        .replace("accept=\"decoder-only|/decoder[- ]only/\"", "accept=\"GPT-style\"")
        .replace("EXPLANATION_MARKER_1 because of the mask.", "Another explanation entirely.")
        .replace("SOLUTION_TEXT_MARKER_2 for step one.", "A different solution.")
        .replace("- 2: RUBRIC_FEEDBACK_MARKER_3. `encoder`", "- 5: Other feedback. `decoder`");
    fs::write(&lesson, text).expect("write");
    let exercise = dir.join("exercises/attention/exercise.toml");
    let text = fs::read_to_string(&exercise).expect("exercise")
        .replace("HIDDEN_CASE_MARKER_5", "another hidden name")
        .replace("q = [4, 128, 64]", "q = [8, 256, 64]")
        .replace("seed = 7", "seed = 99");
    fs::write(&exercise, text).expect("write");
    fs::write(dir.join("exercises/attention/solution.py"), "def scaled_dot_product_attention(q, k, v, mask=None):\n    return v\n")
        .expect("write");
}

#[test]
fn an_exam_site_holds_no_key_and_does_not_depend_on_it() {
    let tmp = tempdir("exam");
    let other = tmp.join("other-key");
    copy_dir(&root().join(ELEMENTS), &other);
    with_another_key(&other);

    for (course, name) in [(root().join(ELEMENTS), "a"), (other.clone(), "b")] {
        build(&course, &tmp.join(format!("exam-{name}")), "exam");
        build(&course, &tmp.join(format!("practice-{name}")), "practice");
    }
    // Practice sites differ (the key really changed) …
    assert_ne!(files(&tmp.join("practice-a")), files(&tmp.join("practice-b")), "the second key changed nothing");
    // … exam sites are byte for byte the same.
    let (a, b) = (files(&tmp.join("exam-a")), files(&tmp.join("exam-b")));
    assert_eq!(a.len(), b.len());
    for ((path_a, bytes_a), (path_b, bytes_b)) in a.iter().zip(&b) {
        assert_eq!(path_a, path_b);
        assert!(bytes_a == bytes_b, "{path_a} depends on the answer key in exam mode");
    }
    for (path, bytes) in &a {
        let text = String::from_utf8_lossy(bytes);
        for marker in KEY_MARKERS {
            assert!(!text.contains(marker), "{path} carries {marker}");
        }
        let key_json = ["&quot;correct&quot;", "&quot;range&quot;", "&quot;phrases&quot;", "&quot;patterns&quot;", "id=\"lectern-rules\""];
        for leak in ["data-key", "class=\"explanation\"", "class=\"solution\""].iter().chain(&key_json) {
            assert!(!text.contains(leak), "{path} carries {leak}");
        }
    }
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn the_same_course_builds_byte_identical_sites() {
    let tmp = tempdir("repro");
    build(&root().join("courses/ai012"), &tmp.join("one"), "practice");
    build(&root().join("courses/ai012"), &tmp.join("two"), "practice");
    assert_eq!(files(&tmp.join("one")), files(&tmp.join("two")));
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn build_never_overwrites_a_foreign_folder_and_a_failed_build_keeps_the_last_site() {
    let tmp = tempdir("atomic");
    let foreign = tmp.join("mine");
    fs::create_dir_all(&foreign).expect("mkdir");
    fs::write(foreign.join("thesis.tex"), "precious").expect("write");
    let output = lectern(&root(), &["build", "courses/ai012", "--out", &foreign.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a Lectern build"), "{}", transcript(&output));
    assert_eq!(fs::read_to_string(foreign.join("thesis.tex")).expect("kept"), "precious");

    let site = tmp.join("site");
    build(&root().join("courses/ai012"), &site, "practice");
    let before = files(&site);
    let broken = tmp.join("broken");
    copy_dir(&root().join("courses/ai012"), &broken);
    let lesson = broken.join("lessons/02-llm-architectures.md");
    let text = fs::read_to_string(&lesson).expect("lesson").replace("::: quiz q2", "::: quizz q2");
    fs::write(&lesson, text).expect("write");
    let output = lectern(&root(), &["build", &broken.to_string_lossy(), "--out", &site.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert_eq!(files(&site), before, "a failed build touched the previous site");
    let leftovers: Vec<_> = fs::read_dir(&tmp).expect("tmp").flatten().map(|e| e.file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().contains("lectern-tmp")), "{leftovers:?}");
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn a_course_overrides_templates_and_assets_by_file_name() {
    let tmp = tempdir("override");
    let course = tmp.join("course");
    copy_dir(&root().join(ELEMENTS), &course);
    fs::create_dir_all(course.join("templates")).expect("mkdir");
    fs::write(course.join("templates/cards.html"), "<div class=\"my-cards\">{{ block.cards | length }} cards</div>\n").expect("write");
    fs::write(course.join("templates/lectern.css"), "/* the course's own stylesheet */\n").expect("write");
    build(&course, &tmp.join("out"), "practice");
    let page = fs::read_to_string(tmp.join("out/01-everything.html")).expect("page");
    assert!(page.contains("<div class=\"my-cards\">2 cards</div>"), "the override was not used");
    assert!(page.contains("Question 1"), "the other templates stay built in");
    assert_eq!(fs::read_to_string(tmp.join("out/assets/lectern.css")).expect("css"), "/* the course's own stylesheet */\n");
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn a_built_site_loads_nothing_from_another_host() {
    let tmp = tempdir("offline");
    build(&root().join("courses/ai012"), &tmp.join("out"), "practice");
    for (path, bytes) in files(&tmp.join("out")) {
        if path.ends_with(".woff2") {
            continue;
        }
        // `@namespace m url(…)` names MathML; it loads nothing.
        let text: String = String::from_utf8_lossy(&bytes).lines().filter(|l| !l.starts_with("@namespace")).collect();
        for remote in ["src=\"http", "src=\"//", "href=\"http", "href=\"//", "url(http", "url('http", "url(\"http", "url(//", "@import", "fetch(\"http"] {
            assert!(!text.contains(remote), "{path} loads from another host: {remote}");
        }
    }
    let js = fs::read(tmp.join("out/assets/lectern.js")).expect("script");
    // 16 KiB until search came (its box's code is about 2 KiB; Pagefind's own client is
    // loaded only on a first search).
    assert!(js.len() < 20 * 1024, "the page script grew to {} bytes", js.len());
    let _ = fs::remove_dir_all(&tmp);
}

/// Every `id="…"` of an HTML page, in order.
fn page_ids(html: &str) -> Vec<String> {
    html.split(" id=\"").skip(1).filter_map(|rest| rest.split('"').next().map(str::to_owned)).collect()
}

/// A lesson renders as one document: footnotes referenced from a callout, a card, a quiz
/// prompt and an explanation are numbered once for the page and linked both ways; link
/// definitions reach every construct; headings get GitHub ids (CJK kept, repeats
/// numbered); the title's formula renders in `<h1>` and is plain text in `<title>`; a
/// fence on a list item's line and `<!--` shown in code hide no quiz; bold around CJK
/// punctuation is bold.
#[test]
fn a_lesson_is_one_document() {
    let tmp = tempdir("one-document");
    let course = root().join("tests/fixtures/site/one-document");
    let output = lectern(&root(), &["check", "--deny-warnings", &course.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    build(&course, &tmp.join("site"), "practice");
    let page = fs::read_to_string(tmp.join("site/01-cost.html")).expect("page");
    let article = &page[page.find("<article").expect("article")..];
    assert!(!article.contains("[^"), "a footnote reference printed literally");
    for (n, refs) in [(1, 3), (2, 2)] {
        assert!(page.contains(&format!("<li id=\"fn-{n}\">")), "footnote {n} listed");
        for k in 1..=refs {
            assert!(page.contains(&format!("href=\"#fn-{n}\" id=\"fnref-{n}-{k}\"")), "reference {k} to footnote {n}");
            assert!(page.contains(&format!("href=\"#fnref-{n}-{k}\"")), "back link to reference {k} of footnote {n}");
        }
    }
    assert_eq!(page.matches("<section class=\"footnotes\"").count(), 1);
    assert_eq!(page.matches("href=\"https://example.com/length\"").count(), 2, "the link definition reaches the callout");
    for id in ["example", "example-1", "自注意力代價", "read", "quiz-q1"] {
        assert!(page_ids(&page).iter().any(|i| i == id), "no id {id}: {:?}", page_ids(&page));
    }
    assert!(page.contains("<title>The cost of O(n^2) attention · DOC</title>"), "plain title");
    assert!(page.contains("<h1>The cost of <math"), "the title's formula renders");
    assert!(page.contains("「<strong>自注意力</strong>」機制與<strong>縮放不可省略</strong>。否則"), "CJK bold");
    assert!(page.contains("data-quiz=\"q1\""), "the quiz after the list fence and the comment in code");
    let index = fs::read_to_string(tmp.join("site/index.html")).expect("index");
    assert!(index.contains("The cost of O(n^2) attention") && !index.contains("$O(n^2)$"), "plain title in the index");
    let _ = fs::remove_dir_all(&tmp);
}

/// No page of any course Lectern ships or tests has an id twice, and every id the lesson
/// crate says a page has (what `check` tests links against) is on the page.
#[test]
fn ids_are_unique_on_every_page_and_check_knows_them_all() {
    let tmp = tempdir("unique-ids");
    for (i, course) in ["courses/ai012", "courses/guide", "tests/fixtures/site/one-document", ELEMENTS].iter().enumerate() {
        let course = root().join(course);
        let out = tmp.join(i.to_string());
        build(&course, &out, "practice");
        let loaded = lectern_lesson::load_course(&course);
        for lesson in &loaded.course.lessons {
            let page = fs::read_to_string(out.join(format!("{}.html", lesson.id))).expect("page");
            let ids = page_ids(&page);
            let mut seen = std::collections::BTreeSet::new();
            for id in &ids {
                assert!(seen.insert(id), "{}: id `{id}` twice", lesson.id);
            }
            for anchor in &lesson.anchors {
                assert!(seen.contains(anchor), "{}: check knows `{anchor}`, the page does not have it: {ids:?}", lesson.id);
            }
        }
    }
    let _ = fs::remove_dir_all(&tmp);
}

/// The text of a site's search index: every Pagefind chunk and fragment, decompressed
/// (each is gzipped after a `pagefind_dcd` signature).
pub fn search_index_text(site: &Path) -> String {
    use std::io::Read;
    let mut text = String::new();
    for file in walk(&site.join("pagefind")) {
        let name = file.to_string_lossy();
        if name.ends_with(".pf_fragment") || name.ends_with(".pf_index") || name.ends_with(".pf_meta") {
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(&fs::read(&file).expect("read")[..]).read_to_end(&mut raw).expect("gzip");
            text.push_str(&String::from_utf8_lossy(&raw));
        }
    }
    text
}

#[test]
fn search_indexes_prose_cards_quizzes_and_challenges_and_never_an_answer() {
    let tmp = tempdir("search-index");
    for mode in ["exam", "practice"] {
        let out = tmp.join(mode);
        build(&root().join(ELEMENTS), &out, mode);
        assert!(out.join("pagefind/pagefind.js").is_file(), "{mode}: no search bundle");
        let text = search_index_text(&out);
        for wanted in ["Text with", "First card", "Pick the causal one", "KV cache per token", "First step prompt", "The challenge"] {
            assert!(text.contains(wanted), "{mode}: `{wanted}` is not in the search index");
        }
        // Neither mode indexes what is hidden: a search result's excerpt would show it.
        for marker in KEY_MARKERS {
            assert!(!text.contains(marker), "{mode}: the search index holds {marker}");
        }
        for page in ["index.html", "01-everything.html"] {
            let html = fs::read_to_string(out.join(page)).expect("page");
            assert!(html.contains("id=\"site-search\""), "{mode}: {page} has no search box");
        }
    }
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn search_is_switched_off_in_course_toml() {
    let tmp = tempdir("search-off");
    let course = tmp.join("course");
    copy_dir(&root().join(ELEMENTS), &course);
    let toml = fs::read_to_string(course.join("course.toml")).expect("course.toml");
    fs::write(course.join("course.toml"), format!("{toml}\n[site]\nsearch = false\n")).expect("write");
    let output = build(&course, &tmp.join("site"), "practice");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("search index"), "{}", transcript(&output));
    assert!(!tmp.join("site/pagefind").exists(), "an index was made though search is off");
    let html = fs::read_to_string(tmp.join("site/01-everything.html")).expect("page");
    assert!(!html.contains("site-search"), "a search box without an index");
    // A misspelt switch is reported, not ignored.
    fs::write(course.join("course.toml"), format!("{toml}\n[site]\nserach = false\n")).expect("write");
    let output = build(&course, &tmp.join("site"), "practice");
    assert!(transcript(&output).contains("unknown key `[site] serach`"), "{}", transcript(&output));
    let _ = fs::remove_dir_all(&tmp);
}

//! The CommonMark spec as a peer suite: every example of `spec.txt` (the npm package
//! `commonmark-spec`, which `.ci/run` installs) built as a lesson of one course, its page
//! compared with the spec's HTML under the spec's own normalisation (`normalize.py`,
//! ported below). Then the same examples inside a callout, a card, a quiz prompt and a
//! quiz explanation must render as they do on their own. Differences Lectern keeps are
//! listed, each with its reason, in `tests/commonmark/allow.toml`; an entry that no
//! longer fails is an error too, so the list only shrinks.
//!
//! The spec is found at `$LECTERN_COMMONMARK_SPEC` (what `.ci/run` sets), else where
//! `.ci/run` installs it. Without it the test fails, unless LECTERN_SKIP_COMMONMARK=1
//! says to skip it on purpose. A full report (each failure's source, both normalised
//! HTMLs, and an allow-list draft of the failures) is written to
//! `target/tmp/commonmark-report.txt`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{lectern, root, tempdir, transcript};

/// normalize.py, and one more rule: a `"` in text is written `&quot;`, as a reference to
/// it is. cmark (which wrote the spec's HTML) escapes it in text, pulldown-cmark does
/// not; the two are the same HTML, which normalize.py only fails to see because it
/// turns every reference but four into its character. Applied to both sides.
fn normalize(html: &str) -> String {
    normalize::normalize_html_with(html, true)
}

const SPEC_VERSION: &str = "0.31.2";
/// How many examples `spec.txt` 0.31.2 holds.
const EXAMPLES: usize = 652;
const ALLOW: &str = "tests/commonmark/allow.toml";

/// One example of the spec, as `spec_tests.py`'s `get_tests` reads it.
#[derive(Debug)]
struct Example {
    number: usize,
    section: String,
    markdown: String,
    html: String,
}

/// `get_tests(specfile)` of commonmark-spec's `test/spec_tests.py`: the fenced
/// `example` blocks, Markdown and HTML split at a line `.`, `→` standing for a tab.
fn examples(spec: &str) -> Vec<Example> {
    let fence = "`".repeat(32);
    let opening = format!("{fence} example");
    let (mut markdown, mut html, mut section) = (String::new(), String::new(), String::new());
    let mut state = 0; // 0 text, 1 Markdown, 2 HTML
    let mut out = Vec::new();
    for line in spec.split_inclusive('\n') {
        let l = line.trim();
        if l == opening {
            state = 1;
        } else if state == 2 && l == fence {
            state = 0;
            out.push(Example {
                number: out.len() + 1,
                section: section.clone(),
                markdown: std::mem::take(&mut markdown).replace('→', "\t"),
                html: std::mem::take(&mut html).replace('→', "\t"),
            });
        } else if l == "." {
            state = 2;
        } else if state == 1 {
            markdown.push_str(line);
        } else if state == 2 {
            html.push_str(line);
        } else if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start_matches('#');
            if let Some(title) = rest.strip_prefix(' ') {
                section = title.trim().to_string();
            }
        }
    }
    out
}

/// Where the example's text goes in its lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Variant {
    Standalone,
    Callout,
    Card,
    Prompt,
    Explanation,
}

impl Variant {
    const ALL: [Variant; 5] = [Variant::Standalone, Variant::Callout, Variant::Card, Variant::Prompt, Variant::Explanation];

    fn name(self) -> &'static str {
        match self {
            Variant::Standalone => "standalone",
            Variant::Callout => "callout",
            Variant::Card => "card",
            Variant::Prompt => "prompt",
            Variant::Explanation => "explanation",
        }
    }

    fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The lesson file for example `n`: front matter, then the example in its place.
    fn lesson(self, n: usize, markdown: &str) -> String {
        let mut text = format!("+++\ntitle = \"Example {n}\"\n+++\n");
        match self {
            Variant::Standalone => text.push_str(markdown),
            // A callout is a GitHub alert (the only form Lectern has): every line quoted.
            Variant::Callout => {
                text.push_str("> [!NOTE]\n");
                for line in markdown.split_inclusive('\n') {
                    text.push_str("> ");
                    text.push_str(line);
                }
            }
            Variant::Card => {
                text.push_str("::: cards\n### Card\n");
                text.push_str(markdown);
                text.push_str(":::\n");
            }
            // A numeric quiz: its prompt is all of its text (a choice quiz would take the
            // example's own list, were it followed by the options).
            Variant::Prompt => {
                text.push_str(&format!("::: quiz p{n} {{type=numeric answer=1}}\n"));
                text.push_str(markdown);
                text.push_str(":::\n");
            }
            Variant::Explanation => {
                text.push_str(&format!("::: quiz e{n} {{type=numeric answer=1}}\nWhich number?\n\n::: explanation\n"));
                text.push_str(markdown);
                text.push_str(":::\n:::\n");
            }
        }
        text
    }

    /// The example's HTML in the page: what stands between the template's markup around
    /// it (templates/site/lesson.html, callout.html, cards.html, quiz.html).
    fn extract(self, page: &str, n: usize) -> Result<String, String> {
        let body = between(page, &format!("<h1>Example {n}</h1>\n"), "</article>")
            .ok_or("the page has no lesson body (<h1>…</h1> … </article>)")?;
        let inner = match self {
            Variant::Standalone => Some(body),
            Variant::Callout => body
                .split_once("<p class=\"callout-title\">")
                .and_then(|(_, rest)| rest.split_once("</p>\n"))
                .and_then(|(_, rest)| rest.rsplit_once("</aside>"))
                .map(|(inner, _)| inner),
            Variant::Card => between(body, "<span class=\"card-number\">1</span> Card</h3>\n", "</section>"),
            Variant::Prompt => between(body, "<div class=\"prompt\">", "</div>\n<form"),
            // An explanation whose HTML is empty is left out of the page.
            Variant::Explanation if !body.contains("<div class=\"explanation\"") => Some(""),
            Variant::Explanation => between(body, "<p class=\"explanation-title\">Explanation</p>", "</div>\n</section>"),
        };
        let inner = inner.ok_or_else(|| format!("the {} is not in the page as the template writes it", self.name()))?;
        // The template's own line breaks around the blocks are not the example's.
        let inner = inner.trim_matches('\n');
        Ok(if inner.is_empty() { String::new() } else { format!("{inner}\n") })
    }
}

/// The text after the first `start` and before the last `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text.rfind(end)?;
    (to >= from).then(|| &text[from..to])
}

/// What Lectern renders differently on purpose, undone before the comparison:
/// - code blocks are `<pre class="code">` (styled as Lectern's code panels) and their
///   text carries highlighting spans (`<span class="hl-kw">…</span>`; inside a code
///   block every `<` of the code itself is escaped, so each span there is highlighting);
/// - headings carry an id (`<h2 id="foo">`), for links to them (no example writes a
///   heading tag with an id of its own).
fn undo_conventions(html: &str) -> String {
    let html = strip_heading_ids(html);
    let html = html.as_str();
    const PRE: &str = "<pre class=\"code\">";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(PRE) {
        out.push_str(&rest[..start]);
        out.push_str("<pre>");
        let after = &rest[start + PRE.len()..];
        let end = after.find("</pre>").unwrap_or(after.len());
        let mut code = &after[..end];
        while let Some(open) = code.find("<span class=\"hl-") {
            out.push_str(&code[..open].replace("</span>", ""));
            code = code[open..].split_once('>').map_or("", |(_, r)| r);
        }
        out.push_str(&code.replace("</span>", ""));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `<hN id="…">` → `<hN>`.
fn strip_heading_ids(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<h") {
        let (before, tag) = rest.split_at(at);
        out.push_str(before);
        let bytes = tag.as_bytes();
        if bytes.len() > 3 && (b'1'..=b'6').contains(&bytes[2]) && tag[3..].starts_with(" id=\"")
            && let Some(close) = tag[8..].find('"')
        {
            out.push_str(&tag[..3]);
            rest = &tag[8 + close + 1..];
        } else {
            out.push_str("<h");
            rest = &tag[2..];
        }
    }
    out.push_str(rest);
    out
}

/// The spec file: `$LECTERN_COMMONMARK_SPEC`, else where `.ci/run` installs it.
fn spec_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LECTERN_COMMONMARK_SPEC") {
        return Some(PathBuf::from(path));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")));
    let installed = "node_modules/commonmark-spec/spec.txt";
    cache
        .map(|c| c.join("lectern-ci/npm").join(installed))
        .into_iter()
        .chain([root().join(installed)])
        .find(|p| p.is_file())
}

/// The allow-list by variant and example number, each with its reason: `[[allow]]`
/// tables of `variant`, `examples` (the spec's numbers) and `reason`.
fn allow_list() -> BTreeMap<(Variant, usize), String> {
    let path = root().join(ALLOW);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{ALLOW}: {e}"));
    let mut out = BTreeMap::new();
    for (key, value) in &table {
        assert_eq!(key, "allow", "{ALLOW}: unknown key `{key}`");
        for entry in value.as_array().unwrap_or_else(|| panic!("{ALLOW}: `allow` is an array of tables")) {
            let field = |name: &str| entry.get(name).unwrap_or_else(|| panic!("{ALLOW}: an entry has no `{name}`: {entry}"));
            let name = field("variant").as_str().unwrap_or_default();
            let variant = Variant::parse(name)
                .unwrap_or_else(|| panic!("{ALLOW}: unknown variant `{name}` (standalone, callout, card, prompt, explanation)"));
            let reason = field("reason").as_str().unwrap_or_default().trim();
            assert!(
                !reason.is_empty() && !reason.to_ascii_lowercase().starts_with("todo"),
                "{ALLOW}: every entry needs its reason: {entry}"
            );
            let examples = field("examples").as_array().unwrap_or_else(|| panic!("{ALLOW}: `examples` is a list: {entry}"));
            for n in examples {
                let n = n.as_integer().and_then(|n| usize::try_from(n).ok()).filter(|n| (1..=EXAMPLES).contains(n));
                let n = n.unwrap_or_else(|| panic!("{ALLOW}: not an example number in {entry}"));
                let old = out.insert((variant, n), reason.to_string());
                assert!(old.is_none(), "{ALLOW}: example {n} ({name}) is listed twice");
            }
            if let Some(extra) = entry.as_table().and_then(|t| t.keys().find(|k| !["variant", "examples", "reason"].contains(&k.as_str()))) {
                panic!("{ALLOW}: unknown key `{extra}` in {entry}");
            }
        }
    }
    out
}

/// Builds the course; a lesson that stops the build is taken out (its first error kept)
/// and the rest built again.
fn build(course: &Path, site: &Path) -> BTreeMap<String, String> {
    let mut broken = BTreeMap::new();
    for _ in 0..8 {
        let output = lectern(&root(), &["build", &course.to_string_lossy(), "--out", &site.to_string_lossy(), "--no-run"]);
        if output.status.success() {
            return broken;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut removed = 0;
        for line in stderr.lines() {
            let Some((path, rest)) = line.split_once(".md:") else { continue };
            let Some((_, message)) = rest.split_once(": error: ") else { continue };
            let stem = path.rsplit('/').next().unwrap_or(path).to_string();
            let file = course.join("lessons").join(format!("{stem}.md"));
            if file.is_file() {
                fs::remove_file(&file).expect("remove a lesson");
                removed += 1;
            }
            broken.entry(stem).or_insert_with(|| message.to_string());
        }
        assert!(removed > 0, "the build failed, and not because of a lesson:\n{}", transcript(&output));
    }
    panic!("the build still fails after taking out {} lessons", broken.len());
}

/// Where `a` and `b` part, with a little context: a one-line view of a difference.
fn first_difference(expected: &str, actual: &str) -> String {
    let common = expected.chars().zip(actual.chars()).take_while(|(a, b)| a == b).count();
    let show = |s: &str| -> String {
        let from = common.saturating_sub(20);
        let text: String = s.chars().skip(from).take(60).collect();
        format!("{}{text:?}", if from > 0 { "…" } else { "" })
    };
    format!("expected {} got {}", show(expected), show(actual))
}

#[test]
fn every_commonmark_example_renders_as_the_spec_says() {
    let Some(spec_path) = spec_file() else {
        if std::env::var_os("LECTERN_SKIP_COMMONMARK").is_some() {
            eprintln!("CommonMark test skipped: LECTERN_SKIP_COMMONMARK is set");
            return;
        }
        panic!(
            "the CommonMark spec is needed: `npm install --prefix ~/.cache/lectern-ci/npm commonmark-spec@{SPEC_VERSION}` \
             (.ci/run does it), or LECTERN_COMMONMARK_SPEC=path/to/spec.txt, or set LECTERN_SKIP_COMMONMARK=1"
        );
    };
    let spec = fs::read_to_string(&spec_path).unwrap_or_else(|e| panic!("{}: {e}", spec_path.display()));
    if let Ok(package) = fs::read_to_string(spec_path.with_file_name("package.json")) {
        assert!(
            package.contains(&format!("\"version\": \"{SPEC_VERSION}\"")),
            "{} is not commonmark-spec {SPEC_VERSION}",
            spec_path.display()
        );
    }
    let examples = examples(&spec);
    assert_eq!(examples.len(), EXAMPLES, "{} examples in {}", examples.len(), spec_path.display());
    let allowed = allow_list();

    // One course, one lesson per example and variant (examples must not meet: link
    // definitions and footnotes are per page).
    let started = Instant::now();
    let tmp = tempdir("commonmark");
    let (course, site) = (tmp.join("course"), tmp.join("site"));
    fs::create_dir_all(course.join("lessons")).expect("mkdir");
    fs::write(course.join("course.toml"), "code = \"CM\"\ntitle = \"CommonMark examples\"\nlanguage = \"en\"\nmode = \"practice\"\n")
        .expect("write");
    for variant in Variant::ALL {
        for ex in &examples {
            let file = course.join("lessons").join(format!("{}-{:04}.md", variant.name(), ex.number));
            fs::write(file, variant.lesson(ex.number, &ex.markdown)).expect("write a lesson");
        }
    }
    let broken = build(&course, &site);
    let built_in = started.elapsed();

    // Each example's rendering (normalised), or why there is none.
    let rendering = |variant: Variant, n: usize| -> Result<String, String> {
        let stem = format!("{}-{n:04}", variant.name());
        if let Some(error) = broken.get(&stem) {
            return Err(format!("does not build: {error}"));
        }
        let page = fs::read_to_string(site.join(format!("{stem}.html"))).map_err(|e| format!("{stem}.html: {e}"))?;
        Ok(normalize(&undo_conventions(&variant.extract(&page, n)?)))
    };

    let mut report = String::new();
    let mut summary = String::new();
    let mut failures = String::new();
    let mut draft: BTreeMap<Variant, Vec<usize>> = BTreeMap::new();
    let mut stale: Vec<(Variant, usize)> = Vec::new();
    let standalone: Vec<Result<String, String>> = examples.iter().map(|ex| rendering(Variant::Standalone, ex.number)).collect();
    for variant in Variant::ALL {
        let (mut pass, mut allow, mut fail) = (0, 0, 0);
        for ex in &examples {
            let n = ex.number;
            let alone = &standalone[n - 1];
            // On its own, an example is held to the spec; wrapped, to itself on its own.
            let (expected, actual) = match variant {
                Variant::Standalone => (Ok(normalize(&ex.html)), alone.clone()),
                _ => (alone.clone().map_err(|_| "the example on its own does not build".to_string()), rendering(variant, n)),
            };
            let problem = match (&expected, &actual) {
                (Ok(e), Ok(a)) if e == a => None,
                (Ok(e), Ok(a)) => Some(first_difference(e, a)),
                (Err(why), _) | (_, Err(why)) => Some(why.clone()),
            };
            let Some(problem) = problem else {
                pass += 1;
                if allowed.contains_key(&(variant, n)) {
                    stale.push((variant, n));
                }
                continue;
            };
            let listed = allowed.contains_key(&(variant, n));
            if listed {
                allow += 1;
            } else {
                fail += 1;
                draft.entry(variant).or_default().push(n);
                let _ = writeln!(failures, "  {} #{n} ({}): {problem}", variant.name(), ex.section);
            }
            let _ = writeln!(
                report,
                "=== {} example {n} ({}){}\n--- markdown\n{}--- expected\n{}\n--- actual\n{}\n",
                variant.name(),
                ex.section,
                if listed { " [allowed]" } else { "" },
                ex.markdown,
                expected.as_deref().unwrap_or_else(|e| e),
                actual.as_deref().unwrap_or_else(|e| e),
            );
        }
        let _ = writeln!(summary, "{:>12}: {pass} pass, {allow} allowed, {fail} fail", variant.name());
    }
    let _ = writeln!(
        summary,
        "(CommonMark {SPEC_VERSION}: {EXAMPLES} examples, {} lessons built in {:.1} s)",
        EXAMPLES * Variant::ALL.len(),
        built_in.as_secs_f64()
    );
    let mut toml_draft = String::new();
    for (variant, numbers) in &draft {
        let numbers: Vec<String> = numbers.iter().map(usize::to_string).collect();
        let _ = writeln!(toml_draft, "[[allow]]\nvariant = \"{}\"\nexamples = [{}]\nreason = \"TODO: triage\"\n", variant.name(), numbers.join(", "));
    }
    let report_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("commonmark-report.txt");
    let _ = fs::write(&report_path, format!("{summary}\n{report}\n# Failures not in {ALLOW}, as entries:\n\n{toml_draft}"));
    let _ = fs::remove_dir_all(&tmp);

    let stale: BTreeSet<_> = stale.into_iter().collect();
    let stale_text: Vec<String> = stale.iter().map(|(v, n)| format!("{} #{n}", v.name())).collect();
    if failures.is_empty() && stale.is_empty() {
        println!("{summary}");
    }
    assert!(
        failures.is_empty() && stale.is_empty(),
        "{summary}\nFailures (not in {ALLOW}):\n{failures}\nListed in {ALLOW} but passing (remove them): {}\n\nFull report: {}",
        if stale_text.is_empty() { "none".to_string() } else { stale_text.join(", ") },
        report_path.display()
    );
}

/// The port against normalize.py: its own doctests, then the quirks of Python's parser
/// it inherits (outputs from normalize.py under Python 3.11).
#[test]
fn commonmark_normalisation_is_normalize_py() {
    let cases = [
        ("<p>a  \t b</p>", "<p>a b</p>"),
        ("<p>a  \t\nb</p>", "<p>a b</p>"),
        (" <p>a  b</p>", "<p>a b</p>"),
        ("<p>a  b</p> ", "<p>a b</p>"),
        ("\n\t<p>\n\t\ta  b\t\t</p>\n\t", "<p>a b</p>"),
        ("<i>a  b</i> ", "<i>a b</i> "),
        ("<br />", "<br>"),
        ("<a title=\"bar\" HREF=\"foo\">x</a>", "<a href=\"foo\" title=\"bar\">x</a>"),
        ("&forall;&amp;&gt;&lt;&quot;", "\u{2200}&amp;&gt;&lt;&quot;"),
        ("<a href= \"x>y\">z</a>", "<a \"x href=\"\">y\">z</a>"),
        ("<a b==\"c d>e", "<a b=\"=&quot;c\" d>e"),
        ("<a title='x>y' id=z/>t", "<a id=\"z/\" title=\"x&gt;y\">t"),
        ("&ouml&copy;&notin;&#X41;&#65&#xD;&foo.", "\u{f6}\u{a9}\u{2209}&X41;A\r&foo;."),
        ("<script>a < b && \"c\"</script>\n<p>x</p>", "<script>a < b && \"c\"</script><p>x</p>"),
        ("<![CDATA[\na\n]]>b", "<![CDATA[\na\n]]>b"),
        ("<pre>\n  a  </pre> <p> b </p>", "<pre>\n  a  </pre><p>b</p>"),
        ("x<br>\ny", "x<br>y"),
        ("<a  /><b2\ndata=\"foo\" >", "<a><b2 data=\"foo\">"),
        ("< a><\nfoo><bar/ >", "< a>< foo><bar>"),
        ("<img src=\"a&amp;b&#39;c\" alt=\"&ouml;x\">", "<img alt=\"\u{f6}x\" src=\"a&amp;b&#x27;c\">"),
        ("</a b=\"c\">", "</a>"),
        ("<!DOCTYPE html><?php x ?><!-- c -- >", "<!DOCTYPE html><?php x ?><!-- c -->"),
    ];
    for (html, expected) in cases {
        assert_eq!(normalize::normalize_html(html), expected, "normalize_html({html:?})");
    }
    // The one rule added here: `"` in text is `&quot;`, in attributes as before.
    assert_eq!(normalize("<p title='\"'>\"a&quot;</p>"), "<p title=\"&quot;\">&quot;a&quot;</p>");
}

/// The CommonMark test suite's HTML normalisation (`normalize_html` in cmark's and
/// commonmark-spec's `test/normalize.py`), ported with the parts of Python's
/// `html.parser.HTMLParser` (3.11) it relies on, so that "passes" means what it means in
/// the spec's own runner. normalize.py:
///
/// - splits the HTML into chunks (`<![CDATA[…]]>` on one line, `<…>`, text) and feeds
///   them one by one to the parser; a CDATA chunk goes to the output verbatim;
/// - collapses whitespace outside `<pre>` and drops it around block-level tags;
/// - writes `<br />` as `<br>`, sorts attributes (lower-cased names, values
///   re-escaped), keeps comments, declarations and processing instructions;
/// - turns character references into characters, except `<`, `>`, `&` and `"`.
///
/// Where the port is not exact it says so; the differences only show on input that
/// would make Python's version raise (then the HTML is returned as it is, as
/// normalize.py does on `HTMLParseError`).
mod normalize {
    /// `normalize_html(html)`.
    pub fn normalize_html(html: &str) -> String {
        normalize_html_with(html, false)
    }

    /// `normalize_html(html)`; with `quote_text`, a `"` in text is written `&quot;`.
    pub fn normalize_html_with(html: &str, quote_text: bool) -> String {
        let mut parser = Parser { quote_text, ..Parser::default() };
        let result = (|| {
            for chunk in chunks(html) {
                if chunk.starts_with("<![CDATA") {
                    parser.output.push_str(chunk);
                } else {
                    parser.feed(chunk)?;
                }
            }
            parser.goahead(true)
        })();
        match result {
            Ok(()) => parser.output,
            Err(_) => html.to_string(),
        }
    }

    /// `re.finditer("(\<!\[CDATA\[.*?\]\]\>|\<[^>]*\>|[^<]+)", html)`: a `<` with no `>`
    /// anywhere after it matches nothing and is skipped.
    fn chunks(html: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < html.len() {
            let rest = &html[i..];
            let len = if rest.starts_with("<![CDATA[")
                && let Some(end) = rest.find("]]>").filter(|&e| !rest[..e].contains('\n'))
            {
                Some(end + 3)
            } else if rest.starts_with('<') {
                rest.find('>').map(|e| e + 1)
            } else {
                Some(rest.find('<').unwrap_or(rest.len()))
            };
            match len {
                Some(len) => {
                    out.push(&rest[..len]);
                    i += len;
                }
                None => i += 1,
            }
        }
        out
    }

    /// What `\s` and `str.strip()` match in Python: Unicode white space and U+001C–U+001F.
    pub fn space(c: char) -> bool {
        c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
    }

    fn strip(s: &str) -> &str {
        s.trim_matches(space)
    }

    const BLOCK_TAGS: &[&str] = &[
        "article", "header", "aside", "hgroup", "blockquote", "hr", "iframe", "body", "li", "map", "button", "object",
        "canvas", "ol", "caption", "output", "col", "p", "colgroup", "pre", "dd", "progress", "div", "section", "dl",
        "table", "td", "dt", "tbody", "embed", "textarea", "fieldset", "tfoot", "figcaption", "th", "figure", "thead",
        "footer", "tr", "form", "ul", "h1", "h2", "h3", "h4", "h5", "h6", "video", "script", "style",
    ];

    fn is_block_tag(tag: &str) -> bool {
        BLOCK_TAGS.contains(&tag)
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Last {
        StartTag,
        EndTag,
        Data,
        Other,
    }

    /// Python raised (an `AssertionError` of `_markupbase`): normalize.py would crash.
    struct Raised;

    /// `MyHTMLParser` over `HTMLParser(convert_charrefs=False)`.
    struct Parser {
        /// `rawdata`, as characters (Python indexes code points).
        raw: Vec<char>,
        cdata_elem: Option<String>,
        output: String,
        last: Last,
        in_pre: bool,
        last_tag: String,
        quote_text: bool,
    }

    impl Default for Parser {
        fn default() -> Self {
            Parser { raw: Vec::new(), cdata_elem: None, output: String::new(), last: Last::StartTag, in_pre: false, last_tag: String::new(), quote_text: false }
        }
    }

    impl Parser {
        fn feed(&mut self, data: &str) -> Result<(), Raised> {
            self.raw.extend(data.chars());
            self.goahead(false)
        }

        fn at(&self, i: usize) -> Option<char> {
            self.raw.get(i).copied()
        }

        fn text(&self, from: usize, to: usize) -> String {
            if from >= to { String::new() } else { self.raw[from..to.min(self.raw.len())].iter().collect() }
        }

        fn starts_with(&self, i: usize, s: &str) -> bool {
            (i..).zip(s.chars()).all(|(j, c)| self.at(j) == Some(c))
        }

        fn find(&self, c: char, from: usize) -> Option<usize> {
            (from..self.raw.len()).find(|&j| self.raw[j] == c)
        }

        fn skip_space(&self, mut i: usize) -> usize {
            while self.at(i).is_some_and(space) {
                i += 1;
            }
            i
        }

        /// `HTMLParser.goahead(end)`.
        fn goahead(&mut self, end: bool) -> Result<(), Raised> {
            let mut i = 0;
            let n = self.raw.len();
            while i < n {
                let j = match self.interesting(i) {
                    Some(j) => j,
                    None if self.cdata_elem.is_some() => break,
                    None => n,
                };
                if i < j {
                    let data = self.text(i, j);
                    self.handle_data(&data);
                }
                i = j;
                if i == n {
                    break;
                }
                if self.at(i) == Some('<') {
                    let k = if self.at(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
                        self.parse_starttag(i)
                    } else if self.starts_with(i, "</") {
                        self.parse_endtag(i)
                    } else if self.starts_with(i, "<!--") {
                        self.parse_comment(i)
                    } else if self.starts_with(i, "<?") {
                        self.parse_pi(i)
                    } else if self.starts_with(i, "<!") {
                        self.parse_html_declaration(i)?
                    } else if i + 1 < n {
                        self.handle_data("<");
                        Some(i + 1)
                    } else {
                        break;
                    };
                    let k = match k {
                        Some(k) => k,
                        None if !end => break,
                        None => {
                            let k = match self.find('>', i + 1) {
                                Some(k) => k + 1,
                                None => self.find('<', i + 1).unwrap_or(i + 1),
                            };
                            let data = self.text(i, k);
                            self.handle_data(&data);
                            k
                        }
                    };
                    i = k;
                } else if self.starts_with(i, "&#") {
                    if let Some((name, mut k)) = self.charref(i) {
                        self.handle_charref(&name);
                        if self.at(k - 1) != Some(';') {
                            k -= 1;
                        }
                        i = k;
                        continue;
                    }
                    if self.raw[i..].contains(&';') {
                        // bail by consuming &#
                        self.handle_data("&#");
                        i += 2;
                    }
                    break;
                } else {
                    // `&`
                    if let Some((name, mut k)) = self.entityref(i) {
                        self.handle_entityref(&name);
                        if self.at(k - 1) != Some(';') {
                            k -= 1;
                        }
                        i = k;
                        continue;
                    }
                    // incomplete: `&[a-zA-Z#]`
                    if self.at(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || c == '#') {
                        if end && i + 2 == n {
                            i += 1;
                        }
                        break;
                    } else if i + 1 < n {
                        self.handle_data("&");
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            if end && i < n && self.cdata_elem.is_none() {
                let data = self.text(i, n);
                self.handle_data(&data);
                i = n;
            }
            self.raw.drain(..i.min(n));
            Ok(())
        }

        /// `self.interesting.search(rawdata, i)`: `[&<]`, or in a script or style element
        /// `</\s*NAME\s*>` (case-insensitive).
        fn interesting(&self, i: usize) -> Option<usize> {
            let Some(elem) = &self.cdata_elem else {
                return (i..self.raw.len()).find(|&j| matches!(self.raw[j], '&' | '<'));
            };
            (i..self.raw.len()).find(|&j| {
                if !self.starts_with(j, "</") {
                    return false;
                }
                let mut k = self.skip_space(j + 2);
                for c in elem.chars() {
                    if self.at(k).map(|x| x.to_ascii_lowercase()) != Some(c) {
                        return false;
                    }
                    k += 1;
                }
                self.at(self.skip_space(k)) == Some('>')
            })
        }

        /// `charref`: `&#(?:[0-9]+|[xX][0-9a-fA-F]+)[^0-9a-fA-F]`; the name (without `&#` and
        /// the last character) and the match's end.
        fn charref(&self, i: usize) -> Option<(String, usize)> {
            let mut k = i + 2;
            if self.at(k).is_some_and(|c| c.is_ascii_digit()) {
                while self.at(k).is_some_and(|c| c.is_ascii_digit()) {
                    k += 1;
                }
            } else if self.at(k).is_some_and(|c| c == 'x' || c == 'X') && self.at(k + 1).is_some_and(|c| c.is_ascii_hexdigit()) {
                k += 1;
                while self.at(k).is_some_and(|c| c.is_ascii_hexdigit()) {
                    k += 1;
                }
            } else {
                return None;
            }
            match self.at(k) {
                Some(c) if !c.is_ascii_hexdigit() => Some((self.text(i + 2, k), k + 1)),
                _ => None,
            }
        }

        /// `entityref`: `&([a-zA-Z][-.a-zA-Z0-9]*)[^a-zA-Z0-9]`, with the backtracking that
        /// lets a final `-` or `.` end the match at the end of the buffer.
        fn entityref(&self, i: usize) -> Option<(String, usize)> {
            if !self.at(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
                return None;
            }
            let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
            let mut e = i + 2;
            while self.at(e).is_some_and(name_char) {
                e += 1;
            }
            if e < self.raw.len() {
                return Some((self.text(i + 1, e), e + 1));
            }
            (i + 2..e).rev().find(|&t| matches!(self.raw[t], '-' | '.')).map(|t| (self.text(i + 1, t), t + 1))
        }

        /// `tagfind_tolerant` at `p`: `([a-zA-Z][^\t\n\r\f />\x00]*)(?:\s|/(?!>))*`; the
        /// name's end and the match's end.
        fn tagfind(&self, p: usize) -> Option<(usize, usize)> {
            if !self.at(p).is_some_and(|c| c.is_ascii_alphabetic()) {
                return None;
            }
            let name_end = self.tag_name_end(p);
            Some((name_end, self.skip_space_or_slash(name_end)))
        }

        fn tag_name_end(&self, p: usize) -> usize {
            let mut k = p + 1;
            while self.at(k).is_some_and(|c| !matches!(c, '\t' | '\n' | '\r' | '\x0c' | ' ' | '/' | '>' | '\0')) {
                k += 1;
            }
            k
        }

        /// `(?:\s|/(?!>))*`
        fn skip_space_or_slash(&self, mut k: usize) -> usize {
            loop {
                match self.at(k) {
                    Some(c) if space(c) => k += 1,
                    Some('/') if self.at(k + 1) != Some('>') => k += 1,
                    _ => return k,
                }
            }
        }

        /// One attribute of `attrfind_tolerant` (and of `locatestarttagend_tolerant` when
        /// `trailing_space`): `((?<=['"\s/])[^\s/>][^\s/=>]*)(\s*=+\s*(VALUE)\s*?)?(?:\s|/(?!>))*`.
        /// Returns the name's range, the value's range when there is one, and the end.
        #[allow(clippy::type_complexity)]
        fn attribute(&self, k: usize, trailing_space: bool) -> Option<((usize, usize), Option<(usize, usize)>, usize)> {
            let before = k.checked_sub(1).and_then(|b| self.at(b))?;
            if !(before == '\'' || before == '"' || before == '/' || space(before)) {
                return None;
            }
            let first = self.at(k)?;
            if space(first) || first == '/' || first == '>' {
                return None;
            }
            let mut name_end = k + 1;
            while self.at(name_end).is_some_and(|c| !(space(c) || matches!(c, '/' | '=' | '>'))) {
                name_end += 1;
            }
            let (value, after) = match self.value_group(name_end, trailing_space) {
                Some((v, end)) => (Some(v), end),
                None => (None, name_end),
            };
            Some(((k, name_end), value, self.skip_space_or_slash(after)))
        }

        /// `\s*=+\s*('[^']*'|"[^"]*"|(?![\'"])[^>\s]*)` (then `\s*` when `trailing_space`),
        /// backtracking as Python's engine does when a quoted value is never closed.
        fn value_group(&self, p: usize, trailing_space: bool) -> Option<((usize, usize), usize)> {
            let s1 = self.skip_space(p);
            if self.at(s1) != Some('=') {
                return None;
            }
            let mut e = s1;
            while self.at(e) == Some('=') {
                e += 1;
            }
            for eq_end in (s1 + 1..=e).rev() {
                let ws_end = self.skip_space(eq_end);
                for v in (eq_end..=ws_end).rev() {
                    if let Some(ve) = self.value_at(v) {
                        let end = if trailing_space { self.skip_space(ve) } else { ve };
                        return Some(((v, ve), end));
                    }
                }
            }
            None
        }

        fn value_at(&self, v: usize) -> Option<usize> {
            match self.at(v) {
                Some(q @ ('\'' | '"')) => self.find(q, v + 1).map(|close| close + 1),
                _ => {
                    let mut e = v;
                    while self.at(e).is_some_and(|c| c != '>' && !space(c)) {
                        e += 1;
                    }
                    Some(e)
                }
            }
        }

        /// `locatestarttagend_tolerant.match(rawdata, i).end()`.
        fn locate_start_tag_end(&self, i: usize) -> usize {
            let mut q = self.tag_name_end(i + 1);
            while self.at(q).is_some_and(|c| space(c) || c == '/') {
                q += 1;
            }
            while let Some((_, _, end)) = self.attribute(q, true) {
                q = end;
            }
            self.skip_space(q)
        }

        /// `check_for_whole_start_tag`: the tag's end, or `None` when it is incomplete.
        fn check_for_whole_start_tag(&self, i: usize) -> Option<usize> {
            let j = self.locate_start_tag_end(i);
            match self.at(j) {
                Some('>') => Some(j + 1),
                Some('/') => self.starts_with(j, "/>").then_some(j + 2),
                None => None,
                Some(c) if c.is_ascii_alphabetic() || c == '=' || c == '/' => None,
                Some(_) => Some(if j > i { j } else { i + 1 }),
            }
        }

        fn parse_starttag(&mut self, i: usize) -> Option<usize> {
            let endpos = self.check_for_whole_start_tag(i)?;
            let (name_end, mut k) = self.tagfind(i + 1)?;
            let tag = self.text(i + 1, name_end).to_lowercase();
            let mut attrs: Vec<(String, Option<String>)> = Vec::new();
            while k < endpos {
                let Some(((ns, ne), value, end)) = self.attribute(k, false) else { break };
                let value = value.map(|(vs, ve)| {
                    let mut v = self.text(vs, ve);
                    let quoted = v.len() >= 2 && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"')));
                    if quoted {
                        v = v[1..v.len() - 1].to_string();
                    }
                    if v.is_empty() { v } else { unescape(&v) }
                });
                attrs.push((self.text(ns, ne).to_lowercase(), value));
                k = end;
            }
            let rest = self.text(k, endpos);
            let rest = strip(&rest);
            if rest != ">" && rest != "/>" {
                let data = self.text(i, endpos);
                self.handle_data(&data);
                return Some(endpos);
            }
            if rest.ends_with("/>") {
                // handle_startendtag
                self.handle_starttag(&tag, attrs);
                self.last_tag = tag;
                self.last = Last::EndTag;
            } else {
                self.handle_starttag(&tag, attrs);
                if tag == "script" || tag == "style" {
                    self.cdata_elem = Some(tag);
                }
            }
            Some(endpos)
        }

        fn parse_endtag(&mut self, i: usize) -> Option<usize> {
            let gtpos = self.find('>', i + 1)? + 1;
            // endtagfind: `</\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>`
            let name_start = self.skip_space(i + 2);
            let mut name_end = name_start;
            if self.at(name_start).is_some_and(|c| c.is_ascii_alphabetic()) {
                name_end += 1;
                while self.at(name_end).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '_')) {
                    name_end += 1;
                }
            }
            let matched = name_end > name_start && self.at(self.skip_space(name_end)) == Some('>');
            if !matched {
                if self.cdata_elem.is_some() {
                    let data = self.text(i, gtpos);
                    self.handle_data(&data);
                    return Some(gtpos);
                }
                let Some((tag_end, match_end)) = self.tagfind(i + 2) else {
                    if self.starts_with(i, "</>") {
                        return Some(i + 3);
                    }
                    return self.parse_bogus_comment(i);
                };
                let tag = self.text(i + 2, tag_end).to_lowercase();
                let gt = self.find('>', match_end)?;
                self.handle_endtag(&tag);
                return Some(gt + 1);
            }
            let elem = self.text(name_start, name_end).to_lowercase();
            if let Some(cdata) = &self.cdata_elem
                && *cdata != elem
            {
                let data = self.text(i, gtpos);
                self.handle_data(&data);
                return Some(gtpos);
            }
            self.handle_endtag(&elem);
            self.cdata_elem = None;
            Some(gtpos)
        }

        fn parse_comment(&mut self, i: usize) -> Option<usize> {
            // `--\s*>` from i + 4
            let (start, end) = (i + 4..self.raw.len()).find_map(|j| {
                if !self.starts_with(j, "--") {
                    return None;
                }
                let k = self.skip_space(j + 2);
                (self.at(k) == Some('>')).then_some((j, k + 1))
            })?;
            let data = self.text(i + 4, start);
            self.output.push_str(&format!("<!--{data}-->"));
            self.last = Last::Other;
            Some(end)
        }

        fn parse_bogus_comment(&mut self, i: usize) -> Option<usize> {
            let pos = self.find('>', i + 2)?;
            let data = self.text(i + 2, pos);
            self.output.push_str(&format!("<!--{data}-->"));
            self.last = Last::Other;
            Some(pos + 1)
        }

        fn parse_pi(&mut self, i: usize) -> Option<usize> {
            let j = self.find('>', i + 2)?;
            let data = self.text(i + 2, j);
            self.output.push_str(&format!("<?{data}>"));
            self.last = Last::Other;
            Some(j + 1)
        }

        fn parse_html_declaration(&mut self, i: usize) -> Result<Option<usize>, Raised> {
            if self.starts_with(i, "<!--") {
                return Ok(self.parse_comment(i));
            }
            if self.starts_with(i, "<![") {
                return self.parse_marked_section(i);
            }
            if self.text(i, i + 9).to_lowercase() == "<!doctype" {
                let Some(gt) = self.find('>', i + 9) else { return Ok(None) };
                let data = self.text(i + 2, gt);
                self.output.push_str(&format!("<!{data}>"));
                self.last = Last::Other;
                return Ok(Some(gt + 1));
            }
            Ok(self.parse_bogus_comment(i))
        }

        /// `_markupbase.parse_marked_section`.
        fn parse_marked_section(&mut self, i: usize) -> Result<Option<usize>, Raised> {
            // _scan_name: `[a-zA-Z][-_.a-zA-Z0-9]*\s*`
            let j = i + 3;
            if j == self.raw.len() {
                return Ok(None);
            }
            if !self.at(j).is_some_and(|c| c.is_ascii_alphabetic()) {
                return Err(Raised);
            }
            let mut e = j + 1;
            while self.at(e).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                e += 1;
            }
            let name = self.text(j, e).to_lowercase();
            if self.skip_space(e) == self.raw.len() {
                return Ok(None);
            }
            // `]\s*]\s*>` or, for MS Office's sections, `]\s*>`
            let double = match name.as_str() {
                "temp" | "cdata" | "ignore" | "include" | "rcdata" => true,
                "if" | "else" | "endif" => false,
                _ => return Err(Raised),
            };
            let found = (i + 3..self.raw.len()).find_map(|s| {
                if self.at(s) != Some(']') {
                    return None;
                }
                let mut k = self.skip_space(s + 1);
                if double {
                    if self.at(k) != Some(']') {
                        return None;
                    }
                    k = self.skip_space(k + 1);
                }
                (self.at(k) == Some('>')).then_some((s, k + 1))
            });
            let Some((start, end)) = found else { return Ok(None) };
            let data = self.text(i + 3, start);
            self.output.push_str(&format!("<!{data}>"));
            self.last = Last::Other;
            Ok(Some(end))
        }

        // MyHTMLParser's handlers.

        fn handle_data(&mut self, data: &str) {
            let after_tag = matches!(self.last, Last::StartTag | Last::EndTag);
            let after_block_tag = after_tag && is_block_tag(&self.last_tag);
            let mut data = data;
            if after_tag && self.last_tag == "br" {
                data = data.trim_start_matches('\n');
            }
            let mut data = if self.in_pre { data.to_string() } else { collapse(data) };
            if after_block_tag && !self.in_pre {
                if self.last == Last::StartTag {
                    data = data.trim_start_matches(space).to_string();
                } else {
                    data = strip(&data).to_string();
                }
            }
            if self.quote_text {
                data = data.replace('"', "&quot;");
            }
            self.output.push_str(&data);
            self.last = Last::Data;
        }

        fn handle_endtag(&mut self, tag: &str) {
            if tag == "pre" {
                self.in_pre = false;
            } else if is_block_tag(tag) {
                self.rstrip_output();
            }
            self.output.push_str(&format!("</{tag}>"));
            self.last_tag = tag.to_string();
            self.last = Last::EndTag;
        }

        fn handle_starttag(&mut self, tag: &str, mut attrs: Vec<(String, Option<String>)>) {
            if tag == "pre" {
                self.in_pre = true;
            }
            if is_block_tag(tag) {
                self.rstrip_output();
            }
            self.output.push('<');
            self.output.push_str(tag);
            attrs.sort();
            for (k, v) in attrs {
                self.output.push(' ');
                self.output.push_str(&k);
                // (normalize.py's URL-quoting branch tests the value, not the name, for
                // "href" and "src", and would raise on Python 3: never taken here.)
                if let Some(v) = v {
                    self.output.push_str(&format!("=\"{}\"", escape(&v)));
                }
            }
            self.output.push('>');
            self.last_tag = tag.to_string();
            self.last = Last::StartTag;
        }

        fn handle_entityref(&mut self, name: &str) {
            let c = NAME2CODEPOINT.binary_search_by(|(n, _)| n.cmp(&name)).ok().and_then(|i| char::from_u32(NAME2CODEPOINT[i].1));
            self.output_char(c, &format!("&{name};"));
            self.last = Last::Other;
        }

        fn handle_charref(&mut self, name: &str) {
            // `chr(int(name[1:], 16))` or `chr(int(name))`; ValueError gives None. (Python
            // makes a lone surrogate of U+D800–U+DFFF; a Rust string cannot hold one, so it
            // becomes U+FFFD here.)
            let number = match name.strip_prefix('x') {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => name.parse::<u64>().ok(),
            };
            let c = number.filter(|&n| n <= 0x10FFFF).map(|n| char::from_u32(n as u32).unwrap_or('\u{FFFD}'));
            self.output_char(c, &format!("&{name};"));
            self.last = Last::Other;
        }

        fn output_char(&mut self, c: Option<char>, fallback: &str) {
            match c {
                Some('<') => self.output.push_str("&lt;"),
                Some('>') => self.output.push_str("&gt;"),
                Some('&') => self.output.push_str("&amp;"),
                Some('"') => self.output.push_str("&quot;"),
                Some(c) => self.output.push(c),
                None => self.output.push_str(fallback),
            }
        }

        fn rstrip_output(&mut self) {
            let len = self.output.trim_end_matches(space).len();
            self.output.truncate(len);
        }
    }

    /// `re.compile('\s+').sub(' ', data)`
    fn collapse(data: &str) -> String {
        let mut out = String::with_capacity(data.len());
        let mut in_space = false;
        for c in data.chars() {
            if space(c) {
                if !in_space {
                    out.push(' ');
                }
                in_space = true;
            } else {
                out.push(c);
                in_space = false;
            }
        }
        out
    }

    /// `html.escape(v, quote=True)`
    fn escape(v: &str) -> String {
        let mut out = String::with_capacity(v.len());
        for c in v.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#x27;"),
                c => out.push(c),
            }
        }
        out
    }

    /// `html.unescape`, for attribute values. Python knows HTML5's 2,231 entity names;
    /// this knows HTML 4's 252 (normalize.py's own table), with and without `;` for the
    /// ones HTML5 accepts without it. Neither the spec's HTML nor Lectern's output has
    /// another named reference inside a tag.
    fn unescape(s: &str) -> String {
        if !s.contains('&') {
            return s.to_string();
        }
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '&' {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            // `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`
            let mut k = i + 1;
            if chars.get(k) == Some(&'#') {
                let hex = matches!(chars.get(k + 1), Some('x' | 'X'));
                let digits_start = if hex { k + 2 } else { k + 1 };
                let mut e = digits_start;
                while chars.get(e).is_some_and(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() }) {
                    e += 1;
                }
                if e == digits_start {
                    out.push('&');
                    i += 1;
                    continue;
                }
                let digits: String = chars[digits_start..e].iter().collect();
                let number = u64::from_str_radix(&digits, if hex { 16 } else { 10 }).unwrap_or(u64::MAX);
                if chars.get(e) == Some(&';') {
                    e += 1;
                }
                out.push_str(&numeric_reference(number));
                i = e;
                continue;
            }
            while k < chars.len() && k - (i + 1) < 32 && !matches!(chars[k], '\t' | '\n' | '\x0c' | ' ' | '<' | '&' | '#' | ';') {
                k += 1;
            }
            if k == i + 1 {
                out.push('&');
                i += 1;
                continue;
            }
            let semicolon = chars.get(k) == Some(&';');
            let name: String = chars[i + 1..k].iter().collect();
            let end = if semicolon { k + 1 } else { k };
            let whole: String = chars[i + 1..end].iter().collect();
            let direct = if semicolon { entity(&name) } else { legacy_entity(&whole) };
            // Else the longest legacy name (no `;`) that starts the text.
            let found = direct.map(|c| (c, whole.chars().count())).or_else(|| {
                (2..whole.chars().count()).rev().find_map(|x| legacy_entity(&whole.chars().take(x).collect::<String>()).map(|c| (c, x)))
            });
            match found {
                Some((c, x)) => {
                    out.push(c);
                    out.extend(whole.chars().skip(x));
                }
                None => {
                    out.push('&');
                    out.push_str(&whole);
                }
            }
            i = end;
        }
        out
    }

    fn entity(name: &str) -> Option<char> {
        NAME2CODEPOINT.binary_search_by(|(n, _)| n.cmp(&name)).ok().and_then(|i| char::from_u32(NAME2CODEPOINT[i].1))
    }

    /// The names HTML5 also accepts without `;`: HTML 4's Latin-1 ones and four capitals.
    fn legacy_entity(name: &str) -> Option<char> {
        match name {
            "AMP" => Some('&'),
            "COPY" => Some('©'),
            "GT" => Some('>'),
            "LT" => Some('<'),
            "QUOT" => Some('"'),
            "REG" => Some('®'),
            _ => entity(name).filter(|&c| (c as u32) < 256),
        }
    }

    /// A numeric reference as html.unescape reads it.
    fn numeric_reference(n: u64) -> String {
        const CP1252: [u32; 32] = [
            0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,
            0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
            0x0153, 0x9D, 0x017E, 0x0178,
        ];
        match n {
            0 => "\u{FFFD}".into(),
            0x0D => "\r".into(),
            0x80..=0x9F => char::from_u32(CP1252[(n - 0x80) as usize]).map(String::from).unwrap_or_default(),
            0xD800..=0xDFFF => "\u{FFFD}".into(),
            n if n > 0x10FFFF => "\u{FFFD}".into(),
            0x1..=0x8 | 0xB | 0xE..=0x1F | 0x7F..=0x9F | 0xFDD0..=0xFDEF => String::new(),
            n if n & 0xFFFE == 0xFFFE => String::new(),
            n => char::from_u32(n as u32).map(String::from).unwrap_or_default(),
        }
    }

    /// `html.entities.name2codepoint`, sorted by name.
    const NAME2CODEPOINT: [(&str, u32); 252] = [
        ("AElig", 198), ("Aacute", 193), ("Acirc", 194), ("Agrave", 192), ("Alpha", 913), ("Aring", 197), ("Atilde", 195),
        ("Auml", 196), ("Beta", 914), ("Ccedil", 199), ("Chi", 935), ("Dagger", 8225), ("Delta", 916), ("ETH", 208),
        ("Eacute", 201), ("Ecirc", 202), ("Egrave", 200), ("Epsilon", 917), ("Eta", 919), ("Euml", 203), ("Gamma", 915),
        ("Iacute", 205), ("Icirc", 206), ("Igrave", 204), ("Iota", 921), ("Iuml", 207), ("Kappa", 922), ("Lambda", 923),
        ("Mu", 924), ("Ntilde", 209), ("Nu", 925), ("OElig", 338), ("Oacute", 211), ("Ocirc", 212), ("Ograve", 210),
        ("Omega", 937), ("Omicron", 927), ("Oslash", 216), ("Otilde", 213), ("Ouml", 214), ("Phi", 934), ("Pi", 928),
        ("Prime", 8243), ("Psi", 936), ("Rho", 929), ("Scaron", 352), ("Sigma", 931), ("THORN", 222), ("Tau", 932),
        ("Theta", 920), ("Uacute", 218), ("Ucirc", 219), ("Ugrave", 217), ("Upsilon", 933), ("Uuml", 220), ("Xi", 926),
        ("Yacute", 221), ("Yuml", 376), ("Zeta", 918), ("aacute", 225), ("acirc", 226), ("acute", 180), ("aelig", 230),
        ("agrave", 224), ("alefsym", 8501), ("alpha", 945), ("amp", 38), ("and", 8743), ("ang", 8736), ("aring", 229),
        ("asymp", 8776), ("atilde", 227), ("auml", 228), ("bdquo", 8222), ("beta", 946), ("brvbar", 166), ("bull", 8226),
        ("cap", 8745), ("ccedil", 231), ("cedil", 184), ("cent", 162), ("chi", 967), ("circ", 710), ("clubs", 9827),
        ("cong", 8773), ("copy", 169), ("crarr", 8629), ("cup", 8746), ("curren", 164), ("dArr", 8659), ("dagger", 8224),
        ("darr", 8595), ("deg", 176), ("delta", 948), ("diams", 9830), ("divide", 247), ("eacute", 233), ("ecirc", 234),
        ("egrave", 232), ("empty", 8709), ("emsp", 8195), ("ensp", 8194), ("epsilon", 949), ("equiv", 8801), ("eta", 951),
        ("eth", 240), ("euml", 235), ("euro", 8364), ("exist", 8707), ("fnof", 402), ("forall", 8704), ("frac12", 189),
        ("frac14", 188), ("frac34", 190), ("frasl", 8260), ("gamma", 947), ("ge", 8805), ("gt", 62), ("hArr", 8660),
        ("harr", 8596), ("hearts", 9829), ("hellip", 8230), ("iacute", 237), ("icirc", 238), ("iexcl", 161), ("igrave",
        236), ("image", 8465), ("infin", 8734), ("int", 8747), ("iota", 953), ("iquest", 191), ("isin", 8712), ("iuml",
        239), ("kappa", 954), ("lArr", 8656), ("lambda", 955), ("lang", 9001), ("laquo", 171), ("larr", 8592), ("lceil",
        8968), ("ldquo", 8220), ("le", 8804), ("lfloor", 8970), ("lowast", 8727), ("loz", 9674), ("lrm", 8206), ("lsaquo",
        8249), ("lsquo", 8216), ("lt", 60), ("macr", 175), ("mdash", 8212), ("micro", 181), ("middot", 183), ("minus",
        8722), ("mu", 956), ("nabla", 8711), ("nbsp", 160), ("ndash", 8211), ("ne", 8800), ("ni", 8715), ("not", 172),
        ("notin", 8713), ("nsub", 8836), ("ntilde", 241), ("nu", 957), ("oacute", 243), ("ocirc", 244), ("oelig", 339),
        ("ograve", 242), ("oline", 8254), ("omega", 969), ("omicron", 959), ("oplus", 8853), ("or", 8744), ("ordf", 170),
        ("ordm", 186), ("oslash", 248), ("otilde", 245), ("otimes", 8855), ("ouml", 246), ("para", 182), ("part", 8706),
        ("permil", 8240), ("perp", 8869), ("phi", 966), ("pi", 960), ("piv", 982), ("plusmn", 177), ("pound", 163),
        ("prime", 8242), ("prod", 8719), ("prop", 8733), ("psi", 968), ("quot", 34), ("rArr", 8658), ("radic", 8730),
        ("rang", 9002), ("raquo", 187), ("rarr", 8594), ("rceil", 8969), ("rdquo", 8221), ("real", 8476), ("reg", 174),
        ("rfloor", 8971), ("rho", 961), ("rlm", 8207), ("rsaquo", 8250), ("rsquo", 8217), ("sbquo", 8218), ("scaron", 353),
        ("sdot", 8901), ("sect", 167), ("shy", 173), ("sigma", 963), ("sigmaf", 962), ("sim", 8764), ("spades", 9824),
        ("sub", 8834), ("sube", 8838), ("sum", 8721), ("sup", 8835), ("sup1", 185), ("sup2", 178), ("sup3", 179), ("supe",
        8839), ("szlig", 223), ("tau", 964), ("there4", 8756), ("theta", 952), ("thetasym", 977), ("thinsp", 8201),
        ("thorn", 254), ("tilde", 732), ("times", 215), ("trade", 8482), ("uArr", 8657), ("uacute", 250), ("uarr", 8593),
        ("ucirc", 251), ("ugrave", 249), ("uml", 168), ("upsih", 978), ("upsilon", 965), ("uuml", 252), ("weierp", 8472),
        ("xi", 958), ("yacute", 253), ("yen", 165), ("yuml", 255), ("zeta", 950), ("zwj", 8205), ("zwnj", 8204)
    ];

}

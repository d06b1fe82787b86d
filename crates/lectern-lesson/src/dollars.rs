//! Dollar signs as Pandoc reads them.
//!
//! pulldown-cmark (`ENABLE_MATH`) pairs any two `$` of a paragraph whose insides do not
//! start or end with a space, so `NT$90 on campus and NT$120` becomes the formula
//! `90 on campus and NT`. Pandoc's rule, which Lectern follows, is stricter: an opening
//! `$` must have a non-space character right after it, and a closing `$` a non-space
//! character right before it and no digit right after it; an opener without such a
//! closer is a plain dollar sign. `\$` is always one.
//!
//! [`literal_dollars`] finds the `$`s that pulldown-cmark would open a formula with
//! although Pandoc reads them as text. Everything that parses Markdown for its math
//! reads the lesson with those `$`s neutralized: the site escapes them
//! ([`pandoc_dollars`], `\$`), the lesson parser masks them in place ([`mask_at`], same
//! length so that every offset holds). Only inline math is governed: `$$…$$` is left
//! as pulldown-cmark reads it, and so is every `$` in code spans, code blocks, HTML and
//! autolinks (the `$`s are found by pulldown-cmark itself, so they are exactly the ones
//! it could read as math).

use std::borrow::Cow;

use pulldown_cmark::{Event, LinkType, Parser, Tag, TagEnd};

/// The byte [`mask_at`] puts where a literal `$` stood: ASCII SUB, which no lesson types
/// and Markdown gives no meaning to.
pub const MASK: char = '\u{1a}';

/// Rounds of "parse, then escape what Pandoc reads as text" before the blunt fallback.
/// One round decides nearly every text; the second confirms it.
const ROUNDS: usize = 8;

/// `md` with every `$` that cannot open an inline formula under Pandoc's rule escaped as
/// `\$`, so that pulldown-cmark reads it as text. Borrowed when nothing changes.
pub fn pandoc_dollars(md: &str) -> Cow<'_, str> {
    let at = literal_dollars(md);
    if at.is_empty() {
        return Cow::Borrowed(md);
    }
    Cow::Owned(escape_at(md, &at))
}

/// `md` with the `$`s of [`literal_dollars`] replaced by [`MASK`]: the same length, so
/// offsets into it are offsets into `md`, and pulldown-cmark reads from it the formulas
/// it reads from [`pandoc_dollars`]'s text.
pub fn mask_dollars(md: &str) -> Cow<'_, str> {
    let at = literal_dollars(md);
    mask_at(Cow::Borrowed(md), &at)
}

/// `text` with the bytes at `at` (each a `$`, as [`literal_dollars`] gives them)
/// replaced by [`MASK`]. `at` may come from another text of the same length whose `$`s
/// stand at the same places (the lesson with its directive lines masked).
pub fn mask_at<'t>(text: Cow<'t, str>, at: &[usize]) -> Cow<'t, str> {
    let at: Vec<usize> = at.iter().copied().filter(|&i| text.as_bytes().get(i) == Some(&b'$')).collect();
    if at.is_empty() {
        return text;
    }
    let mut bytes = text.into_owned().into_bytes();
    for i in at {
        bytes[i] = MASK as u8;
    }
    // Only ASCII `$` bytes were replaced, by an ASCII byte.
    Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Text read from a masked Markdown (a heading's words) as the author wrote it.
pub fn unmask(text: &str) -> Cow<'_, str> {
    if text.contains(MASK) {
        Cow::Owned(text.replace(MASK, "$"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The byte offsets, ascending, of the `$`s in `md` that pulldown-cmark would read as
/// the opening of an inline formula although Pandoc's rule reads them as text. Escaping
/// (or masking) exactly these makes pulldown-cmark's formulas Pandoc's.
pub fn literal_dollars(md: &str) -> Vec<usize> {
    if agree(md) {
        return Vec::new();
    }
    rounds(md)
}

/// Whether pulldown-cmark surely reads the same inline formulas from `md` as Pandoc,
/// found without parsing: no `$` at all (most lessons), or none that can tell the two
/// apart. They disagree only about a closing `$` followed by a digit, white space that
/// is not ASCII next to a `$` (pulldown-cmark knows only ASCII white space), and `$`s
/// that pulldown-cmark pairs by their braces (it pairs a `$` only with one at the same
/// brace depth; Pandoc, with the next one). So: no `$` is followed by a digit or is
/// next to such white space, and the braces between each two `$`s balance.
fn agree(md: &str) -> bool {
    let bytes = md.as_bytes();
    if memchr::memchr(b'$', bytes).is_none() {
        return true;
    }
    // The brace depth since the last `$` (if there was one), and whether it went below
    // zero.
    let (mut depth, mut below, mut dollar) = (0i64, false, false);
    // Only braces and `$`s matter, unless a backslash escapes them (an odd run of
    // backslashes right before): jump from one to the next.
    for i in memchr::memchr3_iter(b'{', b'}', b'$', bytes) {
        let backslashes = bytes[..i].iter().rev().take_while(|b| **b == b'\\').count();
        if backslashes % 2 == 1 {
            continue;
        }
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                below |= depth < 0;
            }
            b'$' => {
                let odd_space = |c: Option<char>| c.is_some_and(|c| !c.is_ascii() && c.is_whitespace());
                if bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                    || odd_space(char_after(bytes, i))
                    || odd_space(char_before(bytes, i))
                    || (dollar && (depth != 0 || below))
                {
                    return false;
                }
                (depth, below, dollar) = (0, false, true);
            }
            _ => {}
        }
    }
    true
}

/// [`literal_dollars`] by parsing.
fn rounds(md: &str) -> Vec<usize> {
    // Offsets in `md`, ascending; each round reads `md` with these escaped.
    let mut escaped: Vec<usize> = Vec::new();
    let mut rounds = 0;
    loop {
        let current = if escaped.is_empty() { Cow::Borrowed(md) } else { Cow::Owned(escape_at(md, &escaped)) };
        // Where the escaped `$`s (and the backslashes before them) stand in `current`.
        let backslashes: Vec<usize> = escaped.iter().enumerate().map(|(i, &p)| p + i).collect();
        let ours: Vec<usize> = backslashes.iter().map(|b| b + 1).collect();
        // After a few rounds something still keeps pulldown-cmark pairing differently
        // from Pandoc (a code span that appears once a formula goes, braces that
        // pulldown-cmark pairs `$`s by, and so on): no lesson should hold such a text,
        // and in it every run that still disagrees loses all its formulas. Every round
        // escapes at least one more `$`, so this ends.
        let found = round(&current, &ours, rounds >= ROUNDS);
        if found.is_empty() {
            return escaped;
        }
        rounds += 1;
        let mut merged: Vec<usize> = found.iter().map(|&q| q - backslashes.partition_point(|&b| b < q)).collect();
        merged.extend_from_slice(&escaped);
        merged.sort_unstable();
        merged.dedup();
        escaped = merged;
    }
}

/// `md` with a backslash before each of `at` (ascending).
fn escape_at(md: &str, at: &[usize]) -> String {
    let mut out = String::with_capacity(md.len() + at.len());
    let mut from = 0;
    for &i in at {
        out.push_str(&md[from..i]);
        out.push('\\');
        from = i;
    }
    out.push_str(&md[from..]);
    out
}

/// One parse of `text`, in which the `$`s at `ours` (ascending) are the ones earlier
/// rounds escaped: the further `$`s to escape, ascending. Pandoc's reading is that of
/// the text as written, so an escaped `$` of ours still takes part in it.
fn round(text: &str, ours: &[usize], blunt: bool) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut run = Run::default();
    let mut code_block = false;
    let mut autolink = false;
    for (event, range) in Parser::new_ext(text, crate::markdown::options()).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                code_block |= matches!(tag, Tag::CodeBlock(_));
                autolink |= matches!(tag, Tag::Link { link_type: LinkType::Autolink | LinkType::Email, .. });
                if !is_inline(&tag) {
                    run.settle(bytes, &mut out, blunt);
                }
            }
            Event::End(end) => {
                code_block &= end != TagEnd::CodeBlock;
                if matches!(end, TagEnd::Link) {
                    autolink = false;
                }
                if !is_inline_end(end) {
                    run.settle(bytes, &mut out, blunt);
                }
            }
            Event::Text(_) if !code_block && !autolink => {
                for i in memchr::memchr_iter(b'$', &bytes[range.clone()]) {
                    let at = range.start + i;
                    if !escaped(bytes, at) {
                        run.dollars.push((at, false));
                    } else if ours.binary_search(&at).is_ok() {
                        run.dollars.push((at, true));
                    }
                }
            }
            Event::InlineMath(_) => {
                let close = range.end - 1;
                if bytes[range.start] == b'$' && bytes[close] == b'$' {
                    run.dollars.push((range.start, false));
                    // pulldown-cmark pairs `$`s by their braces; Pandoc sees every `$`.
                    for i in memchr::memchr_iter(b'$', &bytes[range.start + 1..close]) {
                        let at = range.start + 1 + i;
                        if !escaped(bytes, at) {
                            run.dollars.push((at, false));
                        }
                    }
                    run.dollars.push((close, false));
                    run.formulas.push((range.start, close));
                }
            }
            // `$$…$$` is left alone, and nothing pairs across it.
            Event::DisplayMath(_) => run.settle(bytes, &mut out, blunt),
            _ => {}
        }
    }
    run.settle(bytes, &mut out, blunt);
    out.sort_unstable();
    out.dedup();
    out
}

/// The `$`s of one run of inline text (a paragraph, heading, table cell or tight list
/// item, up to a display formula), in order, each with whether an earlier round escaped
/// it, and the formulas pulldown-cmark made of them.
#[derive(Default)]
struct Run {
    dollars: Vec<(usize, bool)>,
    formulas: Vec<(usize, usize)>,
}

impl Run {
    /// Reads the run's `$`s as Pandoc does, left to right, and adds to `out` each one
    /// that pulldown-cmark would (or did) open a formula with that Pandoc reads as text;
    /// `blunt`: every `$` of a run where there is one. Empties the run.
    fn settle(&mut self, bytes: &[u8], out: &mut Vec<usize>, blunt: bool) {
        let before = out.len();
        self.weigh(bytes, out);
        if blunt && out.len() > before {
            out.truncate(before);
            out.extend(self.dollars.iter().filter(|d| !d.1).map(|d| d.0));
        }
        self.dollars.clear();
        self.formulas.clear();
    }

    /// [`Run::settle`]'s reading, without the bluntness and without emptying the run.
    fn weigh(&self, bytes: &[u8], out: &mut Vec<usize>) {
        let before = out.len();
        let (dollars, formulas) = (&self.dollars, &self.formulas);
        if dollars.len() < 2 {
            return;
        }
        // Pandoc, left to right: the formulas, and the `$`s that open none.
        let mut pandoc: Vec<(usize, usize)> = Vec::new();
        let mut text = vec![false; dollars.len()];
        let mut i = 0;
        while i + 1 < dollars.len() {
            let (open, close) = (dollars[i].0, dollars[i + 1].0);
            if close == open + 1 {
                // `$$` that pulldown-cmark did not read as display math: not governed.
                i += 1;
            } else if pandoc_opens(bytes, open) && pandoc_closes(bytes, close) {
                pandoc.push((open, close));
                i += 2;
            } else {
                text[i] = true;
                i += 1;
            }
        }
        // Right to left, so that each `$` is weighed against the `$`s after it that stay:
        // pulldown-cmark closes a formula at the first `$` after its opener (or none).
        let mut next_live: Option<usize> = None;
        for j in (0..dollars.len()).rev() {
            let (at, ours) = dollars[j];
            if ours {
                continue;
            }
            if text[j] && cmark_opens(bytes, at) && next_live.is_some_and(|close| cmark_closes(bytes, close)) {
                out.push(at);
            } else {
                next_live = Some(at);
            }
        }
        if out.len() > before {
            return;
        }
        // Once no `$` is left in the run that Pandoc reads as text and pulldown-cmark
        // would open a formula with (each of those can shift every pairing after it), the
        // first formula pulldown-cmark made that Pandoc does not (it paired `$`s by braces
        // that Pandoc ignores, say) loses its opener. The first only: the formulas after
        // it may be its consequences, which go away with it.
        if let Some(formula) = formulas.iter().find(|f| pandoc.binary_search(f).is_err()) {
            out.push(formula.0);
        }
    }
}

/// Pandoc: an opening `$` has a non-space character right after it.
fn pandoc_opens(bytes: &[u8], open: usize) -> bool {
    char_after(bytes, open).is_some_and(|c| !c.is_whitespace())
}

/// Pandoc: a closing `$` has a non-space character right before it and no digit right
/// after it.
fn pandoc_closes(bytes: &[u8], close: usize) -> bool {
    char_before(bytes, close).is_some_and(|c| !c.is_whitespace()) && !bytes.get(close + 1).is_some_and(u8::is_ascii_digit)
}

/// pulldown-cmark: a `$` may open unless ASCII white space follows it.
fn cmark_opens(bytes: &[u8], open: usize) -> bool {
    bytes.get(open + 1).is_some_and(|b| !b.is_ascii_whitespace())
}

/// pulldown-cmark: a `$` may close unless ASCII white space precedes it.
fn cmark_closes(bytes: &[u8], close: usize) -> bool {
    close > 0 && !bytes[close - 1].is_ascii_whitespace()
}

fn char_after(bytes: &[u8], at: usize) -> Option<char> {
    let rest = bytes.get(at + 1..)?;
    let len = rest.len().min(4);
    // `at` is a `$`, so `at + 1` is a character boundary.
    (1..=len).find_map(|n| std::str::from_utf8(&rest[..n]).ok()).and_then(|s| s.chars().next())
}

fn char_before(bytes: &[u8], at: usize) -> Option<char> {
    let head = &bytes[..at];
    let len = head.len().min(4);
    (1..=len).find_map(|n| std::str::from_utf8(&head[head.len() - n..]).ok()).and_then(|s| s.chars().next_back())
}

/// Whether the byte at `at` follows an odd number of backslashes.
fn escaped(bytes: &[u8], at: usize) -> bool {
    bytes[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

fn is_inline(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Superscript | Tag::Subscript | Tag::Link { .. } | Tag::Image { .. }
    )
}

fn is_inline_end(end: TagEnd) -> bool {
    matches!(
        end,
        TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Superscript | TagEnd::Subscript | TagEnd::Link | TagEnd::Image
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline formulas pulldown-cmark reads from `md` after [`pandoc_dollars`], and
    /// the text it keeps.
    fn read(md: &str) -> (Vec<String>, String) {
        let fixed = pandoc_dollars(md);
        let mut formulas = Vec::new();
        let mut text = String::new();
        for event in Parser::new_ext(&fixed, crate::markdown::options()) {
            match event {
                Event::InlineMath(t) => formulas.push(t.to_string()),
                Event::DisplayMath(t) => formulas.push(format!("$${t}$$")),
                Event::Text(t) | Event::Code(t) => text.push_str(&t),
                Event::SoftBreak => text.push('\n'),
                _ => {}
            }
        }
        (formulas, text)
    }

    fn formulas(md: &str) -> Vec<String> {
        read(md).0
    }

    #[test]
    fn prices_are_prose() {
        for md in [
            "A GPU hour costs NT$90 on campus and NT$120 in the cloud.",
            "Prices went from $5/$10 last year.",
            "Prices went from $5 and $10.",
            "一張顯示卡約 NT$30,000,雲端每小時約 US$2。",
            "一張顯示卡約 NT$30,000，雲端每小時約 US$2。",
            "It costs US$5.",
            "Save $5, or $10,000 on $20,000!",
            "$5$10",
            "costs $1.50/$2.00 per hour",
        ] {
            let (f, text) = read(md);
            assert!(f.is_empty(), "{md}: {f:?}");
            assert_eq!(text, md, "{md}");
        }
        assert_eq!(
            pandoc_dollars("A GPU hour costs NT$90 on campus and NT$120 in the cloud."),
            "A GPU hour costs NT\\$90 on campus and NT$120 in the cloud."
        );
        assert_eq!(pandoc_dollars("from $5/$10"), "from \\$5/$10");
    }

    #[test]
    fn formulas_stay_formulas() {
        assert_eq!(formulas("Let $x$ be."), ["x"]);
        assert_eq!(formulas("Let $x$."), ["x"]);
        assert_eq!(formulas("$d_k$ and $x_i * y_i$"), ["d_k", "x_i * y_i"]);
        assert_eq!(formulas("註:$\\alpha$,以及 $\\beta$。"), ["\\alpha", "\\beta"]);
        assert_eq!(formulas("costs NT$90 and $x$ is math"), ["x"]);
        assert_eq!(formulas("NT$90 on campus and NT$120 with $\\frac{a}{b}$ here"), ["\\frac{a}{b}"]);
        // Pandoc's rule, not a price detector: `$5/$x` closes before a letter.
        assert_eq!(formulas("$5/$x$"), ["5/"]);
        // After a price that pulldown-cmark paired, the next `$` may open a formula.
        assert_eq!(formulas("NT$5 or NT$6 or $x$"), ["x"]);
        assert!(matches!(pandoc_dollars("Let $x$ be $y$."), Cow::Borrowed(_)));
    }

    #[test]
    fn a_closing_dollar_before_a_digit_closes_nothing() {
        let (f, text) = read("$x$1");
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(text, "$x$1");
        assert_eq!(formulas("$x$1 and $y$"), ["y"]);
    }

    #[test]
    fn spaces_inside_the_dollars_make_prose() {
        assert!(formulas("a $ x$ b").is_empty());
        assert!(formulas("a $x $ b").is_empty());
        assert!(formulas("a $ x $ b").is_empty());
        // Unicode spaces count as spaces too (pulldown-cmark knows only ASCII ones).
        assert!(formulas("a $\u{3000}x$ b").is_empty());
        assert!(formulas("a $x\u{a0}$ b").is_empty());
    }

    #[test]
    fn escaped_dollars_stay_escaped() {
        assert!(matches!(pandoc_dollars("\\$5 and \\$10"), Cow::Borrowed(_)));
        let (f, text) = read("\\$5 and \\$10");
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(text, "$5 and $10");
        // An escaped backslash does not escape the dollar after it.
        assert_eq!(formulas("\\\\$x$"), ["x"]);
        let (f, text) = read("a\\\\$5 and NT$10");
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(text, "a\\$5 and NT$10");
    }

    #[test]
    fn display_math_is_left_alone() {
        for md in ["$$x$$", "$$\\frac{a}{b}$$\n", "Text\n\n$$ x = 1 $$\n\nmore", "a $$x$$ b $$y$$ c"] {
            assert!(matches!(pandoc_dollars(md), Cow::Borrowed(_)), "{md}");
        }
        assert_eq!(formulas("$$\\sum_i x_i$$"), ["$$\\sum_i x_i$$"]);
        assert_eq!(formulas("NT$90 and NT$120\n\n$$x$$"), ["$$x$$"]);
    }

    #[test]
    fn code_html_and_autolinks_are_never_touched() {
        for md in [
            "`NT$90 and NT$120`",
            "```\nNT$90 and NT$120\n```\n",
            "~~~sh\necho $HOME$1\n~~~\n",
            "    NT$90 and NT$120\n",
            "<span title=\"NT$90 and NT$120\">x</span>",
            "<div>\nNT$90 and NT$120\n</div>\n",
            "<http://example.com/NT$90/NT$120>",
            "[link](http://example.com/$5/$10)",
            "- `$5/$10` and `$x$1`",
        ] {
            assert!(matches!(pandoc_dollars(md), Cow::Borrowed(_)), "{md}");
        }
        // Prose around code is still read.
        assert_eq!(pandoc_dollars("`$x$` NT$90 or NT$120"), "`$x$` NT\\$90 or NT$120");
    }

    #[test]
    fn containers_are_read_like_paragraphs() {
        for md in [
            "> NT$90 on campus and NT$120 in the cloud.",
            "- NT$90 on campus and NT$120 in the cloud.",
            "# NT$90 on campus and NT$120",
            "| a | b |\n|---|---|\n| NT$90 on campus and NT$120 | x |\n",
            "*NT$90 on campus* and **NT$120**",
            "Text[^1].\n\n[^1]: NT$90 on campus and NT$120.\n",
        ] {
            let (f, _) = read(md);
            assert!(f.is_empty(), "{md}: {f:?}");
        }
        // Paragraphs are read apart: a `$` never closes one of another paragraph.
        assert_eq!(formulas("costs $5\n\n$x$1 and $y$"), ["y"]);
    }

    #[test]
    fn no_dollar_no_work() {
        assert!(matches!(pandoc_dollars("plain text"), Cow::Borrowed(_)));
        assert!(matches!(mask_dollars("plain text"), Cow::Borrowed(_)));
        assert!(literal_dollars("").is_empty());
    }

    #[test]
    fn many_dollars_are_read_in_linear_time() {
        // Not a timed assertion: these finish at once unless the rounds go quadratic.
        for (md, expected) in [
            ("$".repeat(10_000), None),
            ("NT$1 ".repeat(10_000), Some("")),
            ("$x$1 ".repeat(5_000), Some("")),
            ("$5/$10 ".repeat(5_000), Some("")),
            ("$x$ ".repeat(5_000), Some("x")),
            ("NT$1 $x$ ".repeat(5_000), Some("x")),
            // Pandoc reads `{` formulas here, which pulldown-cmark's brace matching
            // refuses: whatever is left must be one of Pandoc's.
            ("{$".repeat(10_000), Some("{")),
            ("${ ".repeat(10_000), Some("")),
        ] {
            let (f, _) = read(&md);
            let inline: Vec<&String> = f.iter().filter(|f| !f.starts_with("$$")).collect();
            if let Some(expected) = expected {
                assert!(inline.iter().all(|f| *f == expected), "{md:.20}: {:?}", &inline[..inline.len().min(3)]);
            }
        }
        let (f, text) = read(&"NT$1 ".repeat(10_000));
        assert!(f.is_empty());
        assert_eq!(text, "NT$1 ".repeat(10_000).trim_end());
    }

    #[test]
    fn masking_keeps_offsets_and_reads_the_same_formulas() {
        let md = "Costs NT$90 and NT$120; $x$ and $5 or $y$.\n\n## NT$1 vs NT$2\n";
        let masked = mask_dollars(md);
        assert_eq!(masked.len(), md.len());
        assert_eq!(unmask(&masked), md);
        let spans = |text: &str| -> Vec<std::ops::Range<usize>> {
            Parser::new_ext(text, crate::markdown::options())
                .into_offset_iter()
                .filter_map(|(e, r)| matches!(e, Event::InlineMath(_)).then_some(r))
                .collect()
        };
        let got: Vec<&str> = spans(&masked).into_iter().map(|r| &md[r]).collect();
        assert_eq!(got, ["$x$", "$y$"]);
    }

    /// Pandoc's inline-math rule read straight off one paragraph: the formulas, in order.
    fn pandoc_reference(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 2,
                '$' if chars.get(i + 1) == Some(&'$') => {
                    // Not in the generated inputs.
                    i += 2;
                }
                '$' => {
                    let open_ok = chars.get(i + 1).is_some_and(|c| !c.is_whitespace());
                    let mut j = i + 1;
                    while j < chars.len() && chars[j] != '$' {
                        j += if chars[j] == '\\' { 2 } else { 1 };
                    }
                    let close_ok = j < chars.len()
                        && j > i + 1
                        && !chars[j - 1].is_whitespace()
                        && !chars.get(j + 1).is_some_and(char::is_ascii_digit);
                    if open_ok && close_ok {
                        out.push(chars[i + 1..j].iter().collect());
                        i = j + 1;
                    } else {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        out
    }

    /// Random paragraphs of dollars, digits, letters, spaces, CJK and punctuation: after
    /// [`pandoc_dollars`], pulldown-cmark reads exactly Pandoc's formulas; masked, the
    /// same ones at the same offsets.
    #[test]
    fn pulldown_cmark_reads_pandocs_formulas() {
        const PIECES: &[&str] = &[
            "$", "$", "$", "$", " ", " ", "5", "10", "x", "NT", "US", "/", ",", ".", "雲端", "。", "\u{3000}", "\u{a0}",
            "\\$", "\\\\", "a_b", "-", "(", ")", "'", "y ",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = 1 + (next() % 12) as usize;
            let mut md = String::from("p ");
            for _ in 0..len {
                md.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
            }
            md.push_str(" q");
            if md.contains("$$") {
                continue;
            }
            let expected = pandoc_reference(&md);
            assert_eq!(formulas(&md), expected, "{md:?} -> {:?}", pandoc_dollars(&md));
            let masked = mask_dollars(&md);
            let masked_formulas: Vec<String> = Parser::new_ext(&masked, crate::markdown::options())
                .filter_map(|e| if let Event::InlineMath(t) = e { Some(t.to_string()) } else { None })
                .collect();
            assert_eq!(masked_formulas, expected, "masked {md:?}");
        }
    }

    /// Random inline Markdown with braces, code spans, emphasis and `$$`: every formula
    /// pulldown-cmark reads after [`pandoc_dollars`] stands where Pandoc's rule allows
    /// one, is one of the formulas Pandoc reads (when no code span can change Pandoc's
    /// reading), and masking reads the same formulas at the same offsets.
    #[test]
    fn whatever_the_markdown_every_formula_keeps_the_rule() {
        const PIECES: &[&str] = &[
            "$", "$", "$", "$", "$$", " ", "5", "x", "{", "}", "`", "*", "_", "\\$", "NT", "\n", "\n\n", "> ", "- ", "|",
            "雲", "\\", "a b",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = 1 + (next() % 14) as usize;
            let md: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            let escaped_formulas: Vec<String> = Parser::new_ext(&pandoc_dollars(&md), crate::markdown::options())
                .filter_map(|e| if let Event::InlineMath(t) = e { Some(t.to_string()) } else { None })
                .collect();
            let masked = mask_dollars(&md);
            assert_eq!(masked.len(), md.len());
            let mut masked_formulas = Vec::new();
            for (event, range) in Parser::new_ext(&masked, crate::markdown::options()).into_offset_iter() {
                let Event::InlineMath(t) = event else { continue };
                let bytes = md.as_bytes();
                let (open, close) = (range.start, range.end - 1);
                assert!(bytes[open] == b'$' && bytes[close] == b'$', "{md:?}");
                assert!(pandoc_opens(bytes, open) && pandoc_closes(bytes, close), "{md:?}: {:?}", &md[range]);
                masked_formulas.push(t.to_string());
            }
            assert_eq!(escaped_formulas, masked_formulas, "{md:?}");
            if !md.contains(['`', '\n', '|', '\\']) && !md.contains("$$") {
                let reference = pandoc_reference(&md);
                let mut rest = reference.iter();
                for f in &escaped_formulas {
                    assert!(rest.any(|r| r == f), "{md:?}: {f:?} is not among {reference:?}");
                }
            }
        }
    }

    /// [`agree`] only skips texts where the full reading finds nothing to escape.
    #[test]
    fn the_shortcut_never_skips_work() {
        const PIECES: &[&str] = &[
            "$", "$", "$", "$$", " ", "5", "x", "{", "}", "\\{", "`", "\\$", "\\\\", "\n\n", "|", "\u{3000}", "\u{a0}", "a b", "雲",
        ];
        let mut state = 0x5851_f42d_4c95_7f2du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut skipped = 0;
        for _ in 0..20_000 {
            let len = 1 + (next() % 12) as usize;
            let md: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            if agree(&md) {
                skipped += 1;
                assert_eq!(rounds(&md), Vec::<usize>::new(), "{md:?}");
            }
        }
        assert!(skipped > 1_000, "the shortcut is rarely taken ({skipped})");
        let seed = include_str!("../../../courses/ai012/lessons/02-llm-architectures.md");
        assert!(agree(seed), "the demo lesson takes the shortcut");
        assert!(agree("Let $d_k$ and $\\frac{a}{b}$ be."));
        assert!(!agree("NT$90 and NT$120"));
    }
}

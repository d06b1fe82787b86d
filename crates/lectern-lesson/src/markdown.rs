//! Markdown runs: one pass of pulldown-cmark over each run of lesson text, which checks
//! every formula and lifts out the blocks Lectern shows in its own way (callouts and code
//! files). Everything else stays Markdown source for the site to render.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::diag::{Diagnostic, Span};
use crate::model::{Block, Callout, CalloutKind, CodeBlock, Markdown};

/// The CommonMark extensions every part of Lectern reads lessons with.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
}

/// Checks that a TeX formula renders. Returns the renderer's complaint otherwise.
pub fn check_formula(tex: &str) -> Result<(), String> {
    // Plain formulas are recognized without building pulldown-latex's events; the
    // recognizer never calls valid what pulldown-latex rejects (see `tex_check`).
    if crate::tex_check::surely_valid(tex) {
        return Ok(());
    }
    check_formula_fully(tex)
}

/// [`check_formula`] by pulldown-latex alone.
pub(crate) fn check_formula_fully(tex: &str) -> Result<(), String> {
    let storage = pulldown_latex::Storage::new();
    for event in pulldown_latex::Parser::new(tex, &storage) {
        if let Err(e) = event {
            // The error's Display carries a multi-line drawing of its context; the
            // source (its kind) is the one-line reason.
            let reason = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
            return Err(reason);
        }
    }
    Ok(())
}

/// Where diagnostics go while one file is parsed.
pub(crate) struct Sink<'a> {
    pub file: &'a std::path::Path,
    pub diagnostics: Vec<Diagnostic>,
}

impl Sink<'_> {
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(self.file, span, message));
    }
    pub fn warning(&mut self, span: Span, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::warning(self.file, span, message));
    }
}

/// One top-level block of a Markdown run, as much as the directives need to know of it.
#[derive(Debug)]
pub(crate) struct TopBlock<'t> {
    /// Absolute byte range in the file.
    pub span: Span,
    pub kind: TopKind<'t>,
}

#[derive(Debug)]
pub(crate) enum TopKind<'t> {
    /// A heading; `inline` is the absolute range of its inline Markdown, `plain` its text
    /// without markup (for `##` headings only, the ones a challenge takes its title from;
    /// empty for the others).
    Heading { level: HeadingLevel, inline: Option<Span>, plain: String },
    /// A list and its items.
    List(Vec<ListItem<'t>>),
    /// A callout, already read (boxed: most blocks are small).
    Callout(Box<Callout>),
    /// A code file, already read.
    Code(Box<CodeBlock>),
    Other,
}

#[derive(Debug)]
pub(crate) struct ListItem<'t> {
    pub span: Span,
    /// `[x]` / `[ ]`: whether it is checked, and where the marker ends.
    pub task: Option<(bool, usize)>,
    /// Code spans anywhere in the item: span and text (borrowed from the text that was
    /// parsed, or short enough to be inline, unless it spans lines).
    pub code: Vec<(Span, CowStr<'t>)>,
}

/// A Markdown run read once: its top-level blocks. Every formula in it is checked on the
/// way, and every part of Lectern that needs the run's structure reads it from here
/// instead of parsing the text again.
#[derive(Debug, Default)]
pub(crate) struct Outline<'t> {
    pub blocks: Vec<TopBlock<'t>>,
    /// Where the run's link reference definitions (`[label]: url`) stand.
    pub link_definitions: Vec<Span>,
    /// Where the run's footnote definitions (`[^label]: …`) stand.
    pub footnote_definitions: Vec<Span>,
    /// Every link's destination and where the link stands.
    pub links: Vec<(Span, String)>,
    /// Every heading: its span, explicit `{#id}` if any, and its text.
    pub headings: Vec<(Span, Option<String>, String)>,
}

/// Reads `parse_text[span]` as a Markdown run. `parse_text` is the file with directive
/// lines masked (same length); `source` is the file as written, which callouts are read
/// from.
pub(crate) fn outline<'t>(source: &str, parse_text: &'t str, span: Span, sink: &mut Sink<'_>) -> Outline<'t> {
    let text = &parse_text[span.range()];
    let original = &source[span.range()];
    let base = span.start;
    let mut blocks: Vec<TopBlock<'t>> = Vec::with_capacity(text.len() / 128);
    let mut depth = 0usize;
    // The top-level block being read.
    let mut current: Option<(usize, TopKind<'t>)> = None;
    let mut in_code_block = false;
    let mut in_table = false;
    // Every `$` of the run; most runs have none, so most text events cost nothing here.
    let dollars: Vec<usize> = memchr::memchr_iter(b'$', text.as_bytes()).collect();
    // The `$`s that stayed text in the paragraph (cell, heading, item) being read.
    let mut stray: Vec<usize> = Vec::new();

    let mut footnote_definitions = Vec::new();
    let mut links = Vec::new();
    let mut headings = Vec::new();
    let mut heading: Option<(Span, Option<String>, String)> = None;
    let mut events = Parser::new_ext(text, options()).into_offset_iter();
    for (event, range) in events.by_ref() {
        match &event {
            Event::Start(Tag::FootnoteDefinition(_)) => footnote_definitions.push(Span::from(range.clone()).shift(base)),
            Event::Start(Tag::Link { dest_url, .. }) => links.push((Span::from(range.clone()).shift(base), dest_url.to_string())),
            Event::Start(Tag::Heading { id, .. }) => heading = Some((Span::from(range.clone()).shift(base), id.as_ref().map(|i| i.to_string()), String::new())),
            // A heading's id is made from its text and code, not its formulas.
            Event::Text(t) | Event::Code(t) if heading.is_some() => {
                if let Some((_, _, text)) = heading.as_mut() {
                    text.push_str(t);
                }
            }
            Event::End(TagEnd::Heading(_)) => headings.extend(heading.take()),
            _ => {}
        }
        match event {
            Event::Start(tag) => {
                in_code_block |= matches!(tag, Tag::CodeBlock(_));
                in_table |= matches!(tag, Tag::Table(_));
                if !stray.is_empty() && is_text_container(&tag) {
                    stray_formulas(text, base, &mut stray, in_table, sink);
                }
                if depth > 0 {
                    note_inline(&mut current, &range, base);
                }
                if depth == 0 {
                    let kind = match &tag {
                        Tag::Heading { level, .. } => TopKind::Heading { level: *level, inline: None, plain: String::new() },
                        Tag::List(_) => TopKind::List(Vec::new()),
                        Tag::BlockQuote(_) => callout(original, range.clone(), base, sink).map_or(TopKind::Other, |c| TopKind::Callout(Box::new(c))),
                        Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
                            code_block(info, Span::from(range.clone()).shift(base), sink).map_or(TopKind::Other, |c| TopKind::Code(Box::new(c)))
                        }
                        _ => TopKind::Other,
                    };
                    current = Some((range.start, kind));
                } else if depth == 1 && matches!(tag, Tag::Item) {
                    if let Some((_, TopKind::List(items))) = current.as_mut() {
                        items.push(ListItem { span: Span::from(range.clone()).shift(base), task: None, code: Vec::new() });
                    }
                } else if let Tag::CodeBlock(CodeBlockKind::Fenced(info)) = &tag {
                    let at = Span::from(range.clone()).shift(base);
                    if code_block(info, at, &mut Sink { file: sink.file, diagnostics: Vec::new() }).is_some() {
                        sink.warning(
                            at,
                            "`file=`, `src=` and `run` only take effect on a code block that is not inside a list or quote",
                        );
                    }
                }
                depth += 1;
            }
            Event::End(end) => {
                in_code_block &= end != TagEnd::CodeBlock;
                if !stray.is_empty() && matches!(end, TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::TableCell | TagEnd::Item) {
                    stray_formulas(text, base, &mut stray, in_table, sink);
                }
                in_table &= !matches!(end, TagEnd::Table);
                depth = depth.saturating_sub(1);
                if depth > 0 {
                    note_inline(&mut current, &range, base);
                }
                if depth == 0
                    && let Some((start, kind)) = current.take() {
                        blocks.push(TopBlock { span: Span::new(base + start, base + range.end), kind });
                    }
            }
            Event::Text(t) => {
                match current.as_mut() {
                    Some((_, TopKind::Code(block))) => block.text.push_str(&t),
                    _ if in_code_block || dollars.is_empty() => {}
                    _ => {
                        let first = dollars.partition_point(|&d| d < range.start);
                        stray.extend(dollars[first..].iter().copied().take_while(|&d| d < range.end));
                    }
                }
                note_inline(&mut current, &range, base);
                note_plain(&mut current, &t);
            }
            Event::SoftBreak | Event::HardBreak => note_plain(&mut current, " "),
            Event::TaskListMarker(checked) => {
                if let Some((_, TopKind::List(items))) = current.as_mut()
                    && let Some(item) = items.last_mut() {
                        item.task.get_or_insert((checked, base + range.end));
                    }
            }
            Event::Code(code) => {
                note_inline(&mut current, &range, base);
                note_plain(&mut current, &code);
                if let Some((_, TopKind::List(items))) = current.as_mut()
                    && let Some(item) = items.last_mut() {
                        item.code.push((Span::from(range.clone()).shift(base), code));
                    }
            }
            Event::InlineMath(tex) | Event::DisplayMath(tex) => {
                if let Err(reason) = check_formula(&tex) {
                    sink.error(Span::from(range.clone()).shift(base), format!("formula does not parse: {reason}"));
                } else if let Some(warning) = crate::tex_check::formula_warning(&tex, text[range.clone()].starts_with("$$")) {
                    sink.warning(Span::from(range.clone()).shift(base), warning);
                }
                note_inline(&mut current, &range, base);
                note_plain(&mut current, &tex);
            }
            _ => note_inline(&mut current, &range, base),
        }
    }
    stray_formulas(text, base, &mut stray, in_table, sink);
    let mut link_definitions: Vec<Span> =
        events.reference_definitions().iter().map(|(_, def)| Span::from(def.span.clone()).shift(base)).collect();
    link_definitions.sort();
    Outline { blocks, link_definitions, footnote_definitions, links, headings }
}

fn is_text_container(tag: &Tag<'_>) -> bool {
    matches!(tag, Tag::Paragraph | Tag::Heading { .. } | Tag::TableCell | Tag::Item)
}

/// Reports the formulas pulldown-cmark left as text in one paragraph: it reads `$…$`
/// as math only when the braces inside balance (and a table cell ends at `|`), so a
/// broken formula arrives as plain `$`s. `stray` holds their offsets; it is emptied.
fn stray_formulas(text: &str, base: usize, stray: &mut Vec<usize>, in_table: bool, sink: &mut Sink<'_>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < stray.len() {
        let at = stray[i];
        i += 1;
        if at > 0 && bytes[at - 1] == b'\\' {
            continue;
        }
        let next = bytes.get(at + 1).copied();
        if matches!(next, Some(b'$' | b'\\')) {
            // `$$…` or `$\cmd…`: TeX for sure, and never closed as math.
            sink.error(
                Span::new(base + at, base + at + 1),
                "this `$` opens a formula that never closes: check that its `{` and `}` balance",
            );
            break;
        }
        let Some(&close) = stray.get(i) else {
            // In a table, a `|` inside a formula ends the cell; the rest of the formula
            // lands in the next cell (or is dropped with it).
            let line_end = text[at..].find('\n').map_or(text.len(), |e| at + e);
            let rest = &text[at + 1..line_end];
            if in_table && rest.find('|').is_some_and(|p| rest[p..].contains('$')) {
                sink.error(
                    Span::new(base + at, base + line_end),
                    "a `|` inside a formula ends the table cell: write `\\vert` (or `\\|`) instead",
                );
            }
            break;
        };
        let inner = &text[at + 1..close];
        // A price (`$5`), a shell variable (`$HOME`) or a formula with spaces at its
        // ends is prose; only TeX-looking text between two `$`s is a formula.
        let starts_like_tex = next.is_some_and(|b| !b.is_ascii_whitespace() && !b.is_ascii_digit());
        if !starts_like_tex || !inner.contains(['\\', '{', '}', '_', '^', '|']) {
            continue;
        }
        i += 1;
        let span = Span::new(base + at, base + close + 1);
        if in_table && inner.contains('|') {
            sink.error(span, "a `|` inside a formula ends the table cell: write `\\vert` (or `\\|`) instead");
        } else if let Err(reason) = check_formula(inner) {
            sink.error(span, format!("formula does not parse: {reason}"));
        }
    }
    stray.clear();
}

/// Adds text to a `##` heading's plain text.
fn note_plain(current: &mut Option<(usize, TopKind<'_>)>, text: &str) {
    if let Some((_, TopKind::Heading { level: HeadingLevel::H2, plain, .. })) = current.as_mut() {
        plain.push_str(text);
    }
}

/// Widens a heading's inline range to cover an inline event.
fn note_inline(current: &mut Option<(usize, TopKind<'_>)>, range: &std::ops::Range<usize>, base: usize) {
    if let Some((_, TopKind::Heading { inline, .. })) = current.as_mut() {
        let r = Span::from(range.clone()).shift(base);
        *inline = Some(inline.map_or(r, |i| Span::new(i.start.min(r.start), i.end.max(r.end))));
    }
}

impl<'t> Outline<'t> {
    /// The part of the outline inside `span` (blocks are in order, so this is a slice).
    pub fn view(&self, span: Span) -> OutlineView<'_, 't> {
        let first = self.blocks.partition_point(|b| b.span.start < span.start);
        let last = self.blocks.partition_point(|b| b.span.start < span.end);
        OutlineView { span, blocks: &self.blocks[first..last.max(first)] }
    }
}

/// Some consecutive blocks of an outline: those of one text chunk of a directive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutlineView<'a, 't> {
    pub span: Span,
    pub blocks: &'a [TopBlock<'t>],
}

impl OutlineView<'_, '_> {
    /// The blocks of the part of the run inside `span`, skipping the top-level blocks
    /// `skip` says to leave out. Callouts and code files become blocks of their own;
    /// everything else stays Markdown source, link definitions included.
    pub fn blocks_in(&self, file_text: &str, span: Span, skip: impl Fn(&TopBlock<'_>) -> bool) -> Vec<Block> {
        let mut out = Vec::new();
        let mut pending = span.start;
        for block in self.blocks {
            if block.span.start < span.start || block.span.end > span.end {
                continue;
            }
            let lifted = match &block.kind {
                TopKind::Callout(c) => Some(Block::Callout(c.clone())),
                TopKind::Code(c) => Some(Block::Code(c.clone())),
                _ if skip(block) => None,
                _ => continue,
            };
            flush(file_text, pending, block.span.start, &mut out);
            pending = block.span.end;
            out.extend(lifted);
        }
        flush(file_text, pending, span.end, &mut out);
        out
    }

    /// All the run's blocks.
    pub fn all_blocks(&self, file_text: &str) -> Vec<Block> {
        self.blocks_in(file_text, self.span, |_| false)
    }
}

/// Emits `text[from..to]` as a Markdown block unless it is blank.
fn flush(text: &str, from: usize, to: usize, out: &mut Vec<Block>) {
    if from >= to {
        return;
    }
    let chunk = &text[from..to];
    if chunk.trim().is_empty() {
        return;
    }
    out.push(Block::Markdown(Markdown { text: chunk.to_string(), span: Span::new(from, to) }));
}

/// Reads `> [!KIND] Optional title` from a top-level block quote's source.
fn callout(text: &str, range: std::ops::Range<usize>, base: usize, sink: &mut Sink<'_>) -> Option<Callout> {
    let source = &text[range.clone()];
    let first = source.lines().next().unwrap_or("");
    let after_gt = strip_quote_marker(first)?;
    let marker = after_gt.trim_start();
    let rest = marker.strip_prefix("[!")?;
    let close = rest.find(']')?;
    let name = &rest[..close];
    let Some(kind) = CalloutKind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name)) else {
        let at = base + range.start + (first.len() - marker.len());
        sink.warning(
            Span::new(at, at + close + 3),
            format!("unknown callout `[!{name}]`; expected NOTE, TIP, IMPORTANT, WARNING or CAUTION (shown as a plain quote)"),
        );
        return None;
    };
    let title = rest[close + 1..].trim();
    let body_offset = source.find('\n').map_or(source.len(), |i| i + 1);
    let mut body = String::with_capacity(source.len());
    for line in source[body_offset..].split_inclusive('\n') {
        body.push_str(strip_quote_marker(line).unwrap_or(line));
    }
    Some(Callout {
        kind,
        title: (!title.is_empty()).then(|| title.to_string()),
        body: Markdown {
            text: body,
            span: Span::new(base + range.start + body_offset, base + range.end),
        },
        span: Span::from(range).shift(base),
    })
}

/// `   > text` → `text` (one optional space after `>`); `None` for a lazy line.
fn strip_quote_marker(line: &str) -> Option<&str> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let rest = trimmed.strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// A code block's info string: `LANG [file=NAME] [src=PATH] [run]`. Returns a block only
/// when the info string makes it a code file.
fn code_block(info: &str, span: Span, sink: &mut Sink<'_>) -> Option<CodeBlock> {
    let mut words = info.split_whitespace();
    let mut block = CodeBlock { lang: None, file: None, src: None, run: false, text: String::new(), span };
    let mut first = true;
    for word in words.by_ref() {
        if let Some((key, value)) = word.split_once('=') {
            match key {
                "file" => block.file = Some(value.to_string()),
                "src" => block.src = Some(value.to_string()),
                _ => sink.warning(span, format!("unknown code block attribute `{key}`; expected `file=`, `src=` or `run`")),
            }
        } else if word == "run" {
            block.run = true;
        } else if first {
            block.lang = Some(word.to_string());
        } else {
            sink.warning(span, format!("unknown code block flag `{word}`; expected `run`"));
        }
        first = false;
    }
    if block.file.is_none() && block.src.is_none() && !block.run {
        return None;
    }
    if block.file.is_none() {
        block.file = block.src.as_deref().map(|s| s.rsplit('/').next().unwrap_or(s).to_string());
    }
    Some(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Block>, Vec<Diagnostic>) {
        let mut sink = Sink { file: std::path::Path::new("t.md"), diagnostics: Vec::new() };
        let span = Span::new(0, text.len());
        let blocks = outline(text, text, span, &mut sink).view(span).all_blocks(text);
        (blocks, sink.diagnostics)
    }

    #[test]
    fn underscores_in_math_are_tex_and_checked() {
        let (_, diags) = parse("Let $d_k$ and $a_i * b_j$ be.\n\n$$\\frac{QK^T}{\\sqrt{d_k}}$$\n");
        assert!(diags.is_empty(), "{diags:?}");
        // Unbalanced braces: pulldown-cmark does not see math at all.
        let (_, diags) = parse("ok\n\n$$\\frac{QK^T}{\\sqrt{d_k}$$\n");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].span.start, 4);
        assert!(diags[0].message.contains("never closes"), "{}", diags[0].message);
        // Balanced but unknown to the renderer.
        let (_, diags) = parse("ok $\\foo{x}$ and $5 or $10.\n");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].span.start, 3);
        assert!(diags[0].message.starts_with("formula does not parse: unknown"), "{}", diags[0].message);
        // Code is never math.
        let (_, diags) = parse("`$$x{` and\n\n```\n$\\x{\n```\n");
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn callout_with_title_on_marker_line() {
        let (blocks, diags) = parse("intro\n\n> [!TIP] 關鍵洞察\n> body *text*\n\nafter\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(blocks.len(), 3);
        let Block::Callout(c) = &blocks[1] else { panic!("{blocks:?}") };
        assert_eq!(c.kind, CalloutKind::Tip);
        assert_eq!(c.title.as_deref(), Some("關鍵洞察"));
        assert_eq!(c.body.text, "body *text*\n");
    }

    #[test]
    fn callout_without_title_and_unknown_kind() {
        let (blocks, diags) = parse("> [!note]\n> x\n\n> [!FOO] y\n");
        let Block::Callout(c) = &blocks[0] else { panic!("{blocks:?}") };
        assert_eq!((c.kind, c.title.as_deref()), (CalloutKind::Note, None));
        assert!(matches!(blocks[1], Block::Markdown(_)));
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("[!FOO]"));
    }

    #[test]
    fn code_files_are_lifted_plain_code_stays() {
        let (blocks, _) = parse("```python\nx = 1\n```\n\n```python file=a.py run\nprint(1)\n```\n");
        assert_eq!(blocks.len(), 2);
        assert!(matches!(blocks[0], Block::Markdown(_)));
        let Block::Code(c) = &blocks[1] else { panic!("{blocks:?}") };
        assert_eq!((c.lang.as_deref(), c.file.as_deref(), c.run), (Some("python"), Some("a.py"), true));
        assert_eq!(c.text, "print(1)\n");
    }

    #[test]
    fn src_names_the_tab() {
        let (blocks, _) = parse("```python src=dir/arch.py run\n```\n");
        let Block::Code(c) = &blocks[0] else { panic!("{blocks:?}") };
        assert_eq!((c.file.as_deref(), c.src.as_deref()), (Some("arch.py"), Some("dir/arch.py")));
    }
}

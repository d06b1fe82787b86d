//! Fenced-div directives (`::: NAME [ID] [{key=value …}]` … `:::`) found line by line,
//! before any Markdown parsing, so that Markdown never sees a directive line.
//!
//! A directive line starts at column 0 with three or more colons. Lines inside code
//! blocks and HTML comment blocks are never directive lines: where those are is read
//! from CommonMark's own block structure (pulldown-cmark over the whole lesson), so a
//! fence opened on a list item's line or inside a blockquote, or a `<!--` shown inside
//! code, is what CommonMark says it is. The result is a tree whose leaves are byte
//! ranges of Markdown text.

use std::borrow::Cow;

use crate::diag::Span;

/// The directive names the lesson format knows.
pub const NAMES: [&str; 8] = [
    "cards",
    "quiz",
    "explanation",
    "challenge",
    "step",
    "solution",
    "rubric",
    "exercise",
];

/// A directive and everything between its opening and closing lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub name: &'a str,
    pub id: Option<(&'a str, Span)>,
    pub attrs: Vec<Attr<'a>>,
    /// The opening line, without its line ending.
    pub open: Span,
    /// The closing line; `None` if the file ended first.
    pub close: Option<Span>,
    pub content: Vec<Content<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attr<'a> {
    pub key: &'a str,
    pub value: Cow<'a, str>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content<'a> {
    /// Markdown lines (a byte range of the file).
    Text(Span),
    Node(Node<'a>),
}

/// What the line scanner found wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A `:::` line with no directive open.
    StrayClose(Span),
    /// Syntax error inside a directive line.
    BadLine(Span, String),
    /// A code fence that the file never closes (directives after it are swallowed).
    UnclosedFence(Span),
}

/// Scans `text[start..]` into a tree of directives. Unclosed directives are returned with
/// `close: None`; the caller reports them.
pub fn scan(text: &str, start: usize) -> (Vec<Content<'_>>, Vec<Problem>) {
    let mut problems = Vec::new();
    // The root's content is stack[0]; open directives follow.
    let mut stack: Vec<(Option<Node<'_>>, Vec<Content<'_>>)> = Vec::with_capacity(8);
    stack.push((None, Vec::with_capacity(16)));
    // Where the run of text lines being read started.
    let mut run = start;

    // Only lines that start (after at most three spaces) with `:`, a backtick or `~` can
    // matter, so jump between those bytes instead of walking every line, and from a
    // line that does not start with one to the next line.
    let bytes = text.as_bytes();
    let line_end = |at: usize| memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |i| at + i + 1);
    let (opaque, unclosed) = opaque_blocks(text, start);
    if let Some(span) = unclosed {
        problems.push(Problem::UnclosedFence(span));
    }
    let mut block = 0;
    // Where the search for the next such byte goes on.
    let mut from = start;
    while let Some(i) = memchr::memchr(b':', &bytes[from..]) {
        let at = from + i;
        // Inside code or a commented-out block: not a directive.
        while block < opaque.len() && opaque[block].1 <= at {
            block += 1;
        }
        if opaque.get(block).is_some_and(|&(s, _)| s <= at) {
            from = opaque[block].1;
            continue;
        }
        // Back over at most three spaces: a line start must come next (O(1) a byte).
        let mut line_start = at;
        while line_start > start && at - line_start < 4 && bytes[line_start - 1] == b' ' {
            line_start -= 1;
        }
        let indent = at - line_start;
        if (line_start > start && bytes[line_start - 1] != b'\n') || indent > 0 {
            from = line_end(at);
            continue;
        }
        let pos = line_end(at);
        from = pos;
        let bare = text[line_start..pos].trim_end_matches(['\n', '\r']);
        let line_span = Span::new(line_start, line_start + bare.len());
        let colons = bare.bytes().take_while(|&b| b == b':').count();
        if colons < 3 {
            continue;
        }
        // A directive line: the text before it is a run of its own.
        push_text(&mut stack, run, line_start);
        run = pos;
        let rest = &bare[colons..];
        if rest.trim().is_empty() {
            if stack.len() == 1 {
                problems.push(Problem::StrayClose(line_span));
            } else if let Some((Some(mut node), content)) = stack.pop() {
                node.close = Some(line_span);
                node.content = content;
                if let Some(parent) = stack.last_mut() {
                    parent.1.push(Content::Node(node));
                }
            }
            continue;
        }
        match parse_open(bare, line_start, colons) {
            Ok(node) => stack.push((Some(node), Vec::new())),
            Err((span, message)) => {
                problems.push(Problem::BadLine(span, message));
                // Still open something, so that its closing line does not look stray.
                let node = Node {
                    name: "",
                    id: None,
                    attrs: Vec::new(),
                    open: line_span,
                    close: None,
                    content: Vec::new(),
                };
                stack.push((Some(node), Vec::new()));
            }
        }
    }
    push_text(&mut stack, run, text.len());
    // Close whatever is still open at the end of the file (close stays `None`).
    while stack.len() > 1 {
        if let Some((Some(mut node), content)) = stack.pop() {
            node.content = content;
            if let Some(parent) = stack.last_mut() {
                parent.1.push(Content::Node(node));
            }
        }
    }
    let root = stack.pop().map(|(_, c)| c).unwrap_or_default();
    (root, problems)
}

/// Where no directive line can be, and the opener of a fence never closed.
type Opaque = (Vec<(usize, usize)>, Option<Span>);

/// The byte ranges of `text[start..]` where no directive line can be: code blocks
/// (fenced or indented, at any depth of lists and blockquotes) and HTML blocks that are
/// comments, as CommonMark parses the whole lesson; and the opening line of a fenced
/// block the file never closes (everything after it is code).
///
/// Directive lines parse as paragraph text here, which never opens or closes code, so
/// the ranges are the ones the lesson's Markdown has with or without them.
fn opaque_blocks(text: &str, start: usize) -> Opaque {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};
    let body = &text[start..];
    // Most lessons hold no code and no comment at all: nothing to parse for.
    if !body.contains("```") && !body.contains("~~~") && !body.contains("<!--") && !body.contains("\n    ") && !body.contains("\n\t") && !body.starts_with("    ") && !body.starts_with('\t') {
        return (Vec::new(), None);
    }
    // Most of the rest hold fences only at the start of their lines and no comment:
    // then CommonMark's fences are found line by line, as fast as reading the lines.
    if let Some(found) = plain_fences(text, start) {
        return found;
    }
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut unclosed = None;
    for (event, range) in Parser::new_ext(body, crate::markdown::options()).into_offset_iter() {
        let (s, e) = (start + range.start, start + range.end);
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                if let CodeBlockKind::Fenced(_) = kind {
                    let block = &text[s..e];
                    let opener = block.lines().next().unwrap_or("").trim_start_matches(|c: char| c != '`' && c != '~');
                    let (ch, len) = (opener.as_bytes().first().copied().unwrap_or(b'`'), opener.bytes().take_while(|b| *b == b'`' || *b == b'~').count());
                    let last = block.trim_end_matches(['\n', '\r']).lines().last().unwrap_or("").trim();
                    let closed = block.lines().count() > 1 && last.bytes().all(|b| b == ch) && last.len() >= len;
                    if !closed && e >= text.len() && unclosed.is_none() {
                        let first = block.lines().next().unwrap_or("");
                        unclosed = Some(Span::new(s, s + first.len()));
                    }
                }
                out.push((s, e));
            }
            Event::Start(Tag::HtmlBlock) if text[s..e].trim_start().starts_with("<!--") => out.push((s, e)),
            _ => {}
        }
    }
    out.sort_unstable();
    (out, unclosed)
}

/// The fenced blocks of `text[start..]` found line by line, when that is exactly what
/// CommonMark finds: no `<!--` anywhere, and every line holding a fence marker starts
/// with it (after at most three spaces), so no fence opens inside a list item's or a
/// blockquote's marker line. `None` otherwise (then pulldown-cmark decides).
fn plain_fences(text: &str, start: usize) -> Option<Opaque> {
    let body = &text[start..];
    if body.contains("<!--") {
        return None;
    }
    let mut out = Vec::new();
    let mut open: Option<(u8, usize, usize, usize)> = None; // (char, length, start, opener line end)
    // Only the lines holding "```" or "~~~" matter: find them, then read each whole.
    let bytes = text.as_bytes();
    let mut lines: Vec<usize> = memchr::memmem::find_iter(body.as_bytes(), b"```")
        .chain(memchr::memmem::find_iter(body.as_bytes(), b"~~~"))
        .map(|i| memchr::memrchr(b'\n', &bytes[start..start + i]).map_or(start, |n| start + n + 1))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    for at in lines {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n + 1);
        let line = &text[at..end];
        let bare = line.trim_end_matches(['\n', '\r']);
        let indent = bare.bytes().take_while(|&b| b == b' ').count();
        let rest = &bare[indent.min(bare.len())..];
        let marker = rest.starts_with("```") || rest.starts_with("~~~");
        if let Some((ch, len, s, _)) = open {
            let n = rest.bytes().take_while(|&b| b == ch).count();
            if indent <= 3 && n >= len && rest[n..].trim().is_empty() {
                out.push((s, end));
                open = None;
            }
        } else if indent <= 3 && marker {
            let ch = rest.as_bytes()[0];
            let len = rest.bytes().take_while(|&b| b == ch).count();
            if !(ch == b'`' && rest[len..].contains('`')) {
                open = Some((ch, len, at, at + bare.len()));
            }
        } else if !marker {
            // A marker after something: inside a list item or blockquote, or just text.
            let before = &bare[..bare.find("```").or_else(|| bare.find("~~~")).unwrap_or(0)];
            if before.trim().chars().all(|c| matches!(c, '>' | '-' | '*' | '+' | '.' | ')' | ' ' | '\t') || c.is_ascii_digit()) {
                return None;
            }
        } else {
            // An indented fence marker is code or a list item's fence: let CommonMark say.
            return None;
        }
    }
    let unclosed = open.map(|(_, _, s, e)| {
        out.push((s, text.len()));
        Span::new(s, e)
    });
    out.sort_unstable();
    Some((out, unclosed))
}

fn push_text(stack: &mut [(Option<Node<'_>>, Vec<Content<'_>>)], start: usize, end: usize) {
    if start >= end {
        return;
    }
    let Some((_, content)) = stack.last_mut() else { return };
    if let Some(Content::Text(span)) = content.last_mut()
        && span.end == start {
            span.end = end;
            return;
        }
    content.push(Content::Text(Span::new(start, end)));
}

type LineError = (Span, String);

/// Parses `::: name [id] [{k=v …}]`.
fn parse_open(line: &str, base: usize, colons: usize) -> Result<Node<'_>, LineError> {
    let mut cur = Cursor { s: line, pos: colons, base };
    cur.skip_ws();
    let name_start = cur.pos;
    while cur.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        cur.bump();
    }
    let name = &line[name_start..cur.pos];
    if name.is_empty() {
        return Err((cur.span_here(), "expected a directive name after `:::`".into()));
    }
    let mut node = Node {
        name,
        id: None,
        attrs: Vec::new(),
        open: Span::new(base, base + line.len()),
        close: None,
        content: Vec::new(),
    };
    cur.skip_ws();
    if cur.peek().is_some_and(|c| c != '{') {
        let id_start = cur.pos;
        while cur.peek().is_some_and(|c| !c.is_whitespace() && c != '{') {
            cur.bump();
        }
        node.id = Some((&line[id_start..cur.pos], cur.span_from(id_start)));
        cur.skip_ws();
    }
    if cur.peek() == Some('{') {
        cur.bump();
        node.attrs = parse_attrs(&mut cur)?;
        cur.skip_ws();
    }
    if cur.pos < line.len() {
        return Err((
            Span::new(base + cur.pos, base + line.len()),
            "unexpected text after the directive's ID and attributes".into(),
        ));
    }
    Ok(node)
}

fn parse_attrs<'a>(cur: &mut Cursor<'a>) -> Result<Vec<Attr<'a>>, LineError> {
    let mut attrs = Vec::new();
    loop {
        cur.skip_ws();
        match cur.peek() {
            None => return Err((cur.span_here(), "attribute list is missing its closing `}`".into())),
            Some('}') => {
                cur.bump();
                return Ok(attrs);
            }
            Some(_) => {}
        }
        let start = cur.pos;
        while cur.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            cur.bump();
        }
        let key = &cur.s[start..cur.pos];
        if key.is_empty() {
            return Err((cur.span_here(), "expected an attribute name like `type=numeric`".into()));
        }
        if cur.peek() != Some('=') {
            return Err((cur.span_from(start), format!("attribute `{key}` needs a value: `{key}=…`")));
        }
        cur.bump();
        let value: Cow<'a, str> = if cur.peek() == Some('"') {
            cur.bump();
            let mut value = String::new();
            loop {
                match cur.bump() {
                    None => return Err((cur.span_from(start), "quoted value is missing its closing `\"`".into())),
                    Some('"') => break,
                    Some('\\') => match cur.bump() {
                        Some(c) => value.push(c),
                        None => return Err((cur.span_from(start), "quoted value is missing its closing `\"`".into())),
                    },
                    Some(c) => value.push(c),
                }
            }
            Cow::Owned(value)
        } else {
            let vstart = cur.pos;
            while cur.peek().is_some_and(|c| !c.is_whitespace() && c != '}') {
                cur.bump();
            }
            Cow::Borrowed(&cur.s[vstart..cur.pos])
        };
        attrs.push(Attr { key, value, span: cur.span_from(start) });
    }
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    base: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }
    fn span_here(&self) -> Span {
        let len = self.peek().map_or(0, char::len_utf8);
        Span::new(self.base + self.pos, self.base + self.pos + len)
    }
    fn span_from(&self, start: usize) -> Span {
        Span::new(self.base + start, self.base + self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(content: &[Content]) -> Vec<String> {
        content
            .iter()
            .map(|c| match c {
                Content::Text(_) => "text".to_string(),
                Content::Node(n) => format!("{}({})", n.name, names(&n.content).join(",")),
            })
            .collect()
    }

    #[test]
    fn nests_and_closes_innermost_first() {
        let src = "a\n::: quiz q1\nprompt\n::: explanation\nwhy\n:::\n:::\nb\n";
        let (tree, problems) = scan(src, 0);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(names(&tree), ["text", "quiz(text,explanation(text))", "text"]);
    }

    #[test]
    fn colons_inside_fenced_code_are_text() {
        let src = "```markdown\n::: quiz q1\n```\n~~~~\n:::\n~~~~\n";
        let (tree, problems) = scan(src, 0);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(names(&tree), ["text"]);
    }

    #[test]
    fn commented_out_directives_are_text() {
        let src = "<!-- draft:\n::: quiz q9\n:::\n-->\n::: cards\n:::\n";
        let (tree, problems) = scan(src, 0);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(names(&tree), ["text", "cards()"]);
    }

    #[test]
    fn parses_id_and_attributes() {
        let src = r#"::: quiz q3 {type=text accept="a b|\"c\"" points=2}"#;
        let (tree, _) = scan(src, 0);
        let Some(Content::Node(node)) = tree.first() else { panic!("no node: {tree:?}") };
        assert_eq!(node.id.map(|i| i.0), Some("q3"));
        let attrs: Vec<_> = node.attrs.iter().map(|a| (a.key, a.value.as_ref())).collect();
        assert_eq!(attrs, [("type", "text"), ("accept", "a b|\"c\""), ("points", "2")]);
        assert_eq!(node.close, None);
    }

    #[test]
    fn reports_stray_close_and_bad_lines() {
        let (_, problems) = scan(":::\n::: quiz {type\n:::\n", 0);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(matches!(problems[0], Problem::StrayClose(s) if s == Span::new(0, 3)));
        assert!(matches!(&problems[1], Problem::BadLine(_, m) if m.contains("needs a value")));
    }
}

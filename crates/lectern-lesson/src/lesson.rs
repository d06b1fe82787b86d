//! One lesson file → a [`Lesson`] and every diagnostic about it.
//!
//! The parser never stops at the first problem: it reports it, skips what it cannot
//! understand, and goes on. It reads no files; the course loader resolves `src=` and
//! checks what needs the rest of the course.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use pulldown_cmark::HeadingLevel;
use serde::Deserialize;

use crate::diag::{Diagnostic, Span};
use crate::directive::{self, Attr, Content, Node, Problem};
use crate::markdown::{self, ListItem, Outline, OutlineView, Sink, TopKind};
use crate::model::{
    Accept, Block, Card, Cards, Challenge, ChoicePolicy, ExerciseEmbed, Lesson, Quiz, QuizAnswer, QuizOption,
    RubricItem, Step, Tolerance,
};

/// A model and what was wrong with the input it came from.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub value: T,
    pub diagnostics: Vec<Diagnostic>,
}

impl<T> Parsed<T> {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses one lesson. `id` is the file stem; `file` the path shown in diagnostics.
pub fn parse_lesson(id: &str, file: &Path, text: &str) -> Parsed<Lesson> {
    let mut p = LessonParser { text, sink: Sink { file, diagnostics: Vec::new() }, outline: Rc::default() };
    let (front, body_start) = p.front_matter();
    let (tree, problems) = directive::scan(text, body_start);
    // The whole body is read by pulldown-cmark once, with every directive line masked as
    // a thematic break (same length, so offsets hold): that ends any paragraph or list
    // there, as if each run between directive lines were parsed on its own.
    let mut lines = Vec::with_capacity(64);
    directive_lines(&tree, &mut lines);
    for problem in &problems {
        if let Problem::StrayClose(span) = problem {
            lines.push(*span);
        }
    }
    lines.sort_unstable();
    let masked = mask(text, &lines);
    // `$`s that Pandoc's rule reads as text (prices) are masked too, same length.
    let literal = crate::dollars::literal_dollars(&masked);
    let masked = crate::dollars::mask_at(masked, &literal);
    let mut first_try = Sink { file, diagnostics: Vec::new() };
    let outline = markdown::outline(text, &masked, Span::new(body_start, text.len()), &mut first_try);
    let crosses = outline.blocks.iter().any(|b| {
        let i = lines.partition_point(|l| l.start <= b.span.start);
        lines.get(i).is_some_and(|l| l.start < b.span.end)
    });
    let priced = crate::dollars::mask_at(Cow::Borrowed(text), &literal);
    p.outline = Rc::new(if crosses {
        // A block the mask could not end (an HTML block runs to a blank line) reaches
        // over a directive line: read each run between directive lines on its own.
        let mut runs = Vec::new();
        text_runs(&tree, &mut runs);
        runs.sort_unstable();
        let mut merged = Outline::default();
        for run in runs {
            let part = markdown::outline(text, &priced, run, &mut p.sink);
            merged.blocks.extend(part.blocks);
            merged.link_definitions.extend(part.link_definitions);
            merged.footnote_definitions.extend(part.footnote_definitions);
            merged.links.extend(part.links);
            merged.headings.extend(part.headings);
        }
        merged
    } else {
        p.sink.diagnostics.extend(first_try.diagnostics);
        outline
    });
    for problem in problems {
        match problem {
            Problem::StrayClose(span) => p.sink.error(span, "`:::` closes nothing: no directive is open here"),
            Problem::BadLine(span, message) => p.sink.error(span, message),
            Problem::UnclosedFence(span) => p.sink.warning(
                span,
                "this code fence is never closed, so everything after it is code (directives included)",
            ),
        }
    }
    p.check_tree(&tree, None);
    let blocks = p.lesson_blocks(&tree);
    let mut link_definitions = String::new();
    for def in &p.outline.link_definitions {
        link_definitions.push_str(unquoted(text, *def).trim_end());
        link_definitions.push('\n');
    }
    let mut footnote_definitions = String::new();
    for def in &p.outline.footnote_definitions {
        footnote_definitions.push_str(unquoted(text, *def).trim_end());
        footnote_definitions.push_str("\n\n");
    }
    let anchors = p.anchors(&blocks);
    let lesson = Lesson {
        id: id.to_string(),
        file: file.to_path_buf(),
        title: front.title.unwrap_or_else(|| id.to_string()),
        number: front.lesson,
        blocks,
        link_definitions,
        footnote_definitions,
        anchors,
        explicit_ids: p.outline.headings.iter().filter_map(|(_, id, _)| id.clone()).collect(),
        links: p.outline.links.clone(),
    };
    Parsed { value: lesson, diagnostics: p.sink.diagnostics }
}

#[derive(Debug, Default, Deserialize)]
struct FrontMatter {
    title: Option<String>,
    lesson: Option<u32>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

struct LessonParser<'a> {
    text: &'a str,
    sink: Sink<'a>,
    /// The body's Markdown, read once.
    outline: Rc<Outline<'a>>,
}

/// Front matter of the usual shape, `title = "…"` and `lesson = N` lines, read without a
/// TOML parser (which costs more than the Markdown of a whole lesson). Anything else,
/// or anything unusual about these lines, returns `None` for the TOML parser to read.
fn simple_front_matter(source: &str) -> Option<FrontMatter> {
    let mut front = FrontMatter::default();
    for line in source.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=')?;
        let value = value.trim();
        match key.trim() {
            "title" if front.title.is_none() => {
                let inner = value.strip_prefix('"')?.strip_suffix('"')?;
                // Escapes, quotes, comments and control characters: leave them to TOML.
                if inner.contains(['"', '\\', '#']) || inner.chars().any(char::is_control) {
                    return None;
                }
                front.title = Some(inner.to_string());
            }
            "lesson" if front.lesson.is_none() => {
                if !value.bytes().all(|b| b.is_ascii_digit()) || (value.len() > 1 && value.starts_with('0')) {
                    return None;
                }
                front.lesson = Some(value.parse().ok()?);
            }
            _ => return None,
        }
    }
    Some(front)
}

/// Every run of Markdown text in `content`, at any depth.
fn text_runs(content: &[Content], out: &mut Vec<Span>) {
    for c in content {
        match c {
            Content::Text(span) => out.push(*span),
            Content::Node(node) => text_runs(&node.content, out),
        }
    }
}

/// The opening and closing lines of every directive in `content`.
fn directive_lines(content: &[Content], out: &mut Vec<Span>) {
    for c in content {
        if let Content::Node(node) = c {
            out.push(node.open);
            out.extend(node.close);
            directive_lines(&node.content, out);
        }
    }
}

/// `text` with each of `lines` (sorted) overwritten by `***` and spaces.
fn mask<'t>(text: &'t str, lines: &[Span]) -> Cow<'t, str> {
    if lines.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for &line in lines {
        out.push_str(&text[pos..line.start]);
        let len = line.end - line.start;
        out.push_str(&"***"[..len.min(3)]);
        let mut spaces = len.saturating_sub(3);
        while spaces > 0 {
            const SPACES: &str = "                                                                ";
            let n = spaces.min(SPACES.len());
            out.push_str(&SPACES[..n]);
            spaces -= n;
        }
        pos = line.end;
    }
    out.push_str(&text[pos..]);
    Cow::Owned(out)
}

/// Which directive may stand directly inside which (`None` is the lesson itself).
fn allowed_parent(name: &str) -> Option<Option<&'static str>> {
    Some(match name {
        "cards" | "quiz" | "challenge" | "exercise" => None,
        "explanation" => Some("quiz"),
        "step" => Some("challenge"),
        "solution" | "rubric" => Some("step"),
        _ => return None,
    })
}

impl<'a> LessonParser<'a> {
    /// Reads the `+++` TOML block; returns it and where the body starts.
    fn front_matter(&mut self) -> (FrontMatter, usize) {
        let text = self.text;
        let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let first_line_end = text[start..].find('\n').map_or(text.len(), |i| start + i + 1);
        if text[start..first_line_end].trim_end() != "+++" {
            self.sink.error(
                Span::new(start, start),
                "lesson has no front matter: start the file with `+++`, a line `title = \"…\"`, and `+++`",
            );
            return (FrontMatter::default(), start);
        }
        let mut pos = first_line_end;
        let mut close = None;
        for line in text[first_line_end..].split_inclusive('\n') {
            if line.trim_end() == "+++" {
                close = Some((pos, pos + line.len()));
                break;
            }
            pos += line.len();
        }
        let Some((toml_end, body_start)) = close else {
            self.sink.error(
                Span::new(start, start + 3),
                "front matter is never closed: add a line `+++` after it",
            );
            return (FrontMatter::default(), first_line_end);
        };
        let source = &text[first_line_end..toml_end];
        let front = match simple_front_matter(source).map_or_else(|| toml::from_str::<FrontMatter>(source), Ok) {
            Ok(front) => front,
            Err(e) => {
                let span = e.span().map_or(Span::new(start, start + 3), |r| Span::from(r).shift(first_line_end));
                self.sink.error(span, format!("front matter is not valid TOML: {}", e.message().trim()));
                return (FrontMatter::default(), body_start);
            }
        };
        if front.title.is_none() {
            self.sink.error(Span::new(start, start + 3), "front matter has no `title = \"…\"`");
        }
        for key in front.other.keys() {
            let at = find_key(source, key).map_or(Span::new(start, start + 3), |s| s.shift(first_line_end));
            self.sink.warning(at, format!("unknown front matter key `{key}`; expected `title` or `lesson`"));
        }
        (front, body_start)
    }

    /// Structural rules that hold whatever the directive means: known names, closed,
    /// in an allowed parent.
    /// Every id the lesson's page holds ([`crate::anchors`]): quiz and challenge anchors,
    /// footnotes, explicit heading ids (one used twice is an error), then every other
    /// heading's generated id in reading order.
    fn anchors(&mut self, blocks: &[Block]) -> Vec<String> {
        let mut ids = crate::anchors::Ids::default();
        let mut out = Vec::new();
        for b in blocks {
            let id = match b {
                Block::Quiz(q) => crate::anchors::quiz(&q.id),
                Block::Challenge(c) => crate::anchors::challenge(&c.id),
                _ => continue,
            };
            ids.take(&id);
            out.push(id);
        }
        for n in 1..=self.outline.footnote_definitions.len() {
            ids.take(&crate::anchors::footnote(n));
            out.push(crate::anchors::footnote(n));
        }
        let headings = self.outline.headings.clone();
        for (span, explicit, _) in &headings {
            if let Some(id) = explicit {
                if ids.take(id) {
                    out.push(id.clone());
                } else {
                    self.sink.error(*span, format!("the id `{id}` is used twice on this page (by another heading, a quiz or challenge anchor, a footnote, or the page itself); ids must be unique"));
                }
            }
        }
        for (_, explicit, text) in &headings {
            if explicit.is_none() {
                out.push(ids.heading(text));
            }
        }
        out
    }

    fn check_tree(&mut self, content: &[Content], parent: Option<&str>) {
        for c in content {
            let Content::Node(node) = c else { continue };
            if node.name.is_empty() {
                // Its line was already reported as malformed.
            } else if let Some(wanted) = allowed_parent(node.name) {
                if node.close.is_none() {
                    self.sink.error(
                        node.open,
                        format!("`{}` is never closed: add a line `:::` after its content", node.name),
                    );
                }
                if wanted != parent {
                    let message = match wanted {
                        None => format!(
                            "`{}` must stand at the top level of a lesson, not inside `{}`",
                            node.name,
                            parent.unwrap_or("")
                        ),
                        Some(w) => format!("`{}` must be directly inside a `{w}`", node.name),
                    };
                    self.sink.error(node.open, message);
                }
            } else {
                let hint = match directive::NAMES.iter().min_by_key(|n| edit_distance(n, node.name)) {
                    Some(n) if edit_distance(n, node.name) <= 2 => format!("did you mean `{n}`? "),
                    _ => String::new(),
                };
                self.sink.error(
                    node.open,
                    format!(
                        "unknown directive `{}`; {hint}expected one of: {}",
                        node.name,
                        directive::NAMES.join(", ")
                    ),
                );
                if node.close.is_none() {
                    self.sink.error(node.open, format!("`{}` is never closed", node.name));
                }
            }
            self.check_tree(&node.content, Some(node.name));
        }
    }

    /// The outline of one text chunk (a cheap handle on the body's outline).
    fn outline(&self) -> Rc<Outline<'a>> {
        Rc::clone(&self.outline)
    }

    fn markdown(&mut self, span: Span) -> Vec<Block> {
        self.outline.view(span).all_blocks(self.text)
    }

    /// Markdown of every text chunk in `content`, ignoring nested directives.
    fn text_blocks(&mut self, content: &[Content]) -> Vec<Block> {
        let mut out = Vec::new();
        for c in content {
            if let Content::Text(span) = c {
                out.extend(self.markdown(*span));
            }
        }
        out
    }

    fn lesson_blocks(&mut self, content: &[Content]) -> Vec<Block> {
        let mut out = Vec::new();
        for c in content {
            match c {
                Content::Text(span) => out.extend(self.markdown(*span)),
                Content::Node(node) => match node.name {
                    "cards" => out.push(Block::Cards(Cards { cards: self.cards(node), span: node.open })),
                    "quiz" => out.extend(self.quiz(node).map(|q| Block::Quiz(Box::new(q)))),
                    "challenge" => out.extend(self.challenge(node).map(|c| Block::Challenge(Box::new(c)))),
                    "exercise" => out.extend(self.exercise(node).map(Block::Exercise)),
                    // Misplaced or unknown: already reported by check_tree.
                    _ => {}
                },
            }
        }
        out
    }

    /// The directive's ID, checked; reports its absence when `required`.
    fn id(&mut self, node: &Node, required: bool) -> Option<String> {
        let Some((id, span)) = &node.id else {
            if required {
                self.sink.error(node.open, format!("`{0}` needs an ID: `::: {0} my-id`", node.name));
            }
            return None;
        };
        if !required && !matches!(node.name, "step") {
            self.sink.warning(*span, format!("`{}` takes no ID; `{id}` is ignored", node.name));
            return None;
        }
        if !id.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
            self.sink.error(*span, format!("ID `{id}` may only hold letters, digits, `-` and `_`"));
            return None;
        }
        Some(id.to_string())
    }

    /// The directive's attributes by key; warns about unknown and repeated ones.
    fn attrs<'n, 't>(&mut self, node: &'n Node<'t>, allowed: &[&str]) -> BTreeMap<&'t str, &'n Attr<'t>> {
        let mut out = BTreeMap::new();
        for attr in &node.attrs {
            if !allowed.contains(&attr.key) {
                let expected = if allowed.is_empty() {
                    format!("`{}` takes no attributes", node.name)
                } else {
                    format!("expected {}", allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "))
                };
                self.sink.warning(attr.span, format!("unknown attribute `{}` ({expected}); it is ignored", attr.key));
            } else if out.insert(attr.key, attr).is_some() {
                self.sink.warning(attr.span, format!("attribute `{}` is given twice; the last one counts", attr.key));
            }
        }
        out
    }

    fn number(&mut self, attr: &Attr, what: &str) -> Option<f64> {
        match attr.value.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.sink.error(attr.span, format!("{what} `{}` is not a number", attr.value));
                None
            }
        }
    }

    fn cards(&mut self, node: &Node) -> Vec<Card> {
        self.id(node, false);
        self.attrs(node, &[]);
        let mut cards = Vec::new();
        for c in &node.content {
            let Content::Text(span) = c else { continue };
            let whole = self.outline();
            let outline = whole.view(*span);
            let headings: Vec<(Span, Option<Span>)> = outline
                .blocks
                .iter()
                .filter_map(|b| match b.kind {
                    TopKind::Heading { level: HeadingLevel::H3, inline, .. } => Some((b.span, inline)),
                    _ => None,
                })
                .collect();
            let first = headings.first().map_or(span.end, |h| h.0.start);
            let lead = Span::new(span.start, first);
            if !self.text[lead.range()].trim().is_empty() {
                self.sink.warning(
                    trimmed(self.text, lead),
                    "text before the first `###` heading belongs to no card and is not shown",
                );
            }
            for (i, (heading, inline)) in headings.iter().enumerate() {
                let end = headings.get(i + 1).map_or(span.end, |h| h.0.start);
                let body = outline.blocks_in(self.text, Span::new(heading.end, end), |_| false);
                let title = inline.map_or("", |r| &self.text[r.range()]).to_string();
                cards.push(Card { title, body, span: Span::new(heading.start, end) });
            }
        }
        if cards.is_empty() {
            self.sink.error(node.open, "`cards` holds no card: start each card with a `###` heading");
        }
        cards
    }

    fn quiz(&mut self, node: &Node) -> Option<Quiz> {
        let id = self.id(node, true);
        let attrs = self.attrs(node, &["type", "points", "policy", "answer", "tolerance", "unit", "accept"]);
        let mut prompt = Vec::new();
        let mut options: Option<(Vec<QuizOption>, Span)> = None;
        let mut explanation: Option<Vec<Block>> = None;
        for c in &node.content {
            match c {
                Content::Text(span) => {
                    if options.is_some() {
                        if !self.text[span.range()].trim().is_empty() {
                            self.sink.warning(*span, "text after a quiz's options is not shown; move it before the options");
                        }
                        continue;
                    }
                    let whole = self.outline();
                    let outline = whole.view(*span);
                    match self.choice_options(&outline) {
                        Some((list, found)) => {
                            prompt.extend(outline.blocks_in(self.text, Span::new(span.start, list.start), |_| false));
                            let rest = Span::new(list.end, span.end);
                            let more_options = outline.blocks.iter().find(|b| {
                                b.span.start >= list.end
                                    && matches!(&b.kind, TopKind::List(items) if items.iter().any(|i| i.task.is_some()))
                            });
                            if let Some(more) = more_options {
                                // CommonMark starts a new list when the bullet changes or text
                                // comes between items: those options would be lost.
                                self.sink.error(
                                    more.span,
                                    "a second list of options: write every option of a quiz in one list, with the same bullet and nothing between them",
                                );
                            } else if !self.text[rest.range()].trim().is_empty() {
                                self.sink.warning(
                                    trimmed(self.text, rest),
                                    "text after a quiz's options is not shown; move it before the options",
                                );
                            }
                            options = Some((found, list));
                        }
                        None => prompt.extend(outline.all_blocks(self.text)),
                    }
                }
                Content::Node(child) if child.name == "explanation" => {
                    self.id(child, false);
                    self.attrs(child, &[]);
                    let blocks = self.text_blocks(&child.content);
                    if explanation.replace(blocks).is_some() {
                        self.sink.error(child.open, "a quiz has at most one `explanation`");
                    }
                }
                Content::Node(_) => {}
            }
        }
        let points = match attrs.get("points") {
            Some(a) => {
                let p = self.number(a, "points")?;
                if p <= 0.0 {
                    self.sink.error(a.span, format!("points must be more than 0, not {}", a.value));
                    return None;
                }
                p
            }
            None => 1.0,
        };
        let kind = attrs.get("type").map_or("choice", |a| a.value.as_ref());
        let answer = match kind {
            "choice" => {
                let Some((options, list)) = options else {
                    self.sink.error(node.open, "quiz has no options: list them as `- [x] right` and `- [ ] wrong`");
                    return None;
                };
                if !options.iter().any(|o| o.correct) {
                    self.sink.error(list, "quiz has no correct option: mark at least one with `- [x]`");
                    return None;
                }
                for (i, o) in options.iter().enumerate() {
                    if let Some(first) = options[..i].iter().find(|p| rendered_form(&p.text) == rendered_form(&o.text)) {
                        self.sink.error(o.span, format!("option {} reads the same as option {} once rendered: a student cannot tell them apart", o.letter, first.letter));
                    }
                }
                if options.len() > 1 && options.iter().all(|o| o.correct) {
                    self.sink.warning(list, "every option is marked correct: choosing all of them earns full points without reading the question");
                }
                let policy = match attrs.get("policy") {
                    Some(a) => match ChoicePolicy::parse(&a.value) {
                        Some(p) => Some(p),
                        None => {
                            self.sink.error(
                                a.span,
                                format!("unknown policy `{}`; expected `all-or-nothing` or `right-minus-wrong`", a.value),
                            );
                            None
                        }
                    },
                    None => None,
                };
                QuizAnswer::Choice { options, policy }
            }
            "numeric" => {
                if let Some((_, list)) = options {
                    self.sink.warning(list, "a numeric quiz shows no options; this list is not shown");
                }
                let Some(answer) = attrs.get("answer") else {
                    self.sink.error(node.open, "numeric quiz has no answer: add `{type=numeric answer=…}`");
                    return None;
                };
                let answer = self.number(answer, "answer")?;
                let tolerance = match attrs.get("tolerance") {
                    None => Tolerance::Absolute(0.0),
                    Some(a) => match a.value.strip_suffix('%') {
                        Some(pct) => {
                            let pct = self.number(&Attr { value: Cow::Borrowed(pct), ..(*a).clone() }, "tolerance")?;
                            Tolerance::Relative(pct / 100.0)
                        }
                        None => Tolerance::Absolute(self.number(a, "tolerance")?),
                    },
                };
                if matches!(tolerance, Tolerance::Absolute(t) | Tolerance::Relative(t) if t < 0.0) {
                    self.sink.error(attrs["tolerance"].span, "tolerance cannot be negative");
                }
                QuizAnswer::Numeric { answer, tolerance, unit: attrs.get("unit").map(|a| a.value.to_string()) }
            }
            "text" => {
                if let Some((_, list)) = options {
                    self.sink.warning(list, "a text quiz shows no options; this list is not shown");
                }
                let Some(accept) = attrs.get("accept") else {
                    self.sink.error(node.open, "text quiz has no accepted answers: add `{type=text accept=\"a|b\"}`");
                    return None;
                };
                let alternatives = self.accept_list(accept);
                if alternatives.is_empty() {
                    self.sink.error(accept.span, "`accept` holds no answer");
                    return None;
                }
                QuizAnswer::Text { accept: alternatives }
            }
            other => {
                self.sink.error(
                    attrs["type"].span,
                    format!("unknown quiz type `{other}`; expected `choice`, `numeric` or `text`"),
                );
                return None;
            }
        };
        Some(Quiz { id: id?, prompt, answer, points, explanation: explanation.unwrap_or_default(), span: node.open })
    }

    /// The first task list of a run: its span and its options.
    fn choice_options(&mut self, outline: &OutlineView<'_, '_>) -> Option<(Span, Vec<QuizOption>)> {
        let (list, items) = outline.blocks.iter().find_map(|b| match &b.kind {
            TopKind::List(items) if items.iter().any(|i| i.task.is_some()) => Some((b.span, items)),
            _ => None,
        })?;
        let mut options = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some((correct, text_start)) = item.task else {
                self.sink.error(item.span, "every option needs `[ ]` (wrong) or `[x]` (right) after the bullet");
                continue;
            };
            let Some(letter) = u8::try_from(i).ok().filter(|&i| i < 26).map(|i| char::from(b'A' + i)) else {
                self.sink.error(item.span, "a quiz has at most 26 options (A to Z)");
                break;
            };
            let text = self.text[text_start..item.span.end].trim().to_string();
            options.push(QuizOption { letter, text, correct, span: item.span });
        }
        Some((list, options))
    }

    /// `a|b|/re(g|x)/` → alternatives; a `|` inside `/…/` belongs to the regex.
    fn accept_list(&mut self, attr: &Attr) -> Vec<Accept> {
        let mut out = Vec::new();
        let value = attr.value.as_ref();
        let mut rest = value.trim_start();
        while !rest.is_empty() {
            let (item, next) = if rest.starts_with('/') {
                // A regex runs to a `/` that is followed by `|` or the end (spaces allowed).
                let mut end = None;
                for (i, _) in rest.match_indices('/').skip(1) {
                    let after = rest[i + 1..].trim_start();
                    if after.is_empty() || after.starts_with('|') {
                        end = Some(i + 1);
                        break;
                    }
                }
                match end {
                    Some(e) => (&rest[..e], rest[e..].trim_start().strip_prefix('|').unwrap_or("")),
                    None => split_bar(rest),
                }
            } else {
                split_bar(rest)
            };
            if let Some(a) = self.accept(item.trim(), attr.span) {
                out.push(a);
            }
            rest = next.trim_start();
        }
        out
    }

    /// One accepted answer; a `/…/` one must be a valid regular expression.
    fn accept(&mut self, item: &str, span: Span) -> Option<Accept> {
        if item.is_empty() {
            return None;
        }
        if item.len() >= 2 && item.starts_with('/') && item.ends_with('/') {
            let pattern = &item[1..item.len() - 1];
            let checked = crate::regex_check::check(pattern);
            if let Err(reason) = checked {
                let reason = reason.lines().last().unwrap_or("").trim_start_matches("error: ");
                self.sink.error(span, format!("regular expression `{item}` does not parse: {reason}"));
                return None;
            }
            // The grader must be able to run it as the page does.
            let may_be_big = !crate::regex_check::surely_valid(pattern) || pattern.contains(['{', '\\']);
            if may_be_big && let Err(reason) = crate::answer::compile_pattern(pattern) {
                self.sink.error(span, format!("regular expression `{item}` cannot be used: {reason}"));
                return None;
            }
            return Some(Accept::Regex(pattern.to_string()));
        }
        Some(Accept::Phrase(item.to_string()))
    }

    fn challenge(&mut self, node: &Node) -> Option<Challenge> {
        let id = self.id(node, true);
        let attrs = self.attrs(node, &["title"]);
        let mut title = attrs.get("title").map(|a| a.value.to_string());
        let mut prompt = Vec::new();
        let mut steps: Vec<Step> = Vec::new();
        for c in &node.content {
            match c {
                Content::Text(span) if steps.is_empty() => {
                    let whole = self.outline();
                    let outline = whole.view(*span);
                    let heading = outline.blocks.iter().find(|b| {
                        matches!(b.kind, TopKind::Heading { level: HeadingLevel::H2, .. })
                    });
                    match heading {
                        Some(h) if title.is_none() => {
                            if let TopKind::Heading { plain, .. } = &h.kind {
                                title = Some(crate::dollars::unmask(plain.trim()).into_owned());
                            }
                            let h = h.span;
                            prompt.extend(outline.blocks_in(self.text, *span, |b| b.span == h));
                        }
                        _ => prompt.extend(outline.all_blocks(self.text)),
                    }
                }
                Content::Text(span) => {
                    if !self.text[span.range()].trim().is_empty() {
                        self.sink.warning(*span, "text between or after a challenge's steps is not shown; put it inside a step");
                    }
                }
                Content::Node(child) if child.name == "step" => {
                    if let Some(step) = self.step(child, steps.len() + 1) {
                        if let Some(other) = steps.iter().find(|s| s.id == step.id) {
                            let d = Diagnostic::error(
                                self.sink.file,
                                child.open,
                                format!("step ID `{}` is used twice in this challenge", step.id),
                            )
                            .with_related(self.sink.file, other.span, "first used by this step");
                            self.sink.diagnostics.push(d);
                        } else {
                            steps.push(step);
                        }
                    }
                }
                Content::Node(_) => {}
            }
        }
        let id = id?;
        if steps.is_empty() {
            self.sink.error(node.open, "challenge has no step: add at least one `::: step` inside it");
            return None;
        }
        let title = title.unwrap_or_else(|| {
            self.sink.warning(node.open, "challenge has no title: start it with a `##` heading");
            id.clone()
        });
        Some(Challenge { id, title, prompt, steps, span: node.open })
    }

    fn step(&mut self, node: &Node, number: usize) -> Option<Step> {
        let id = match &node.id {
            Some(_) => self.id(node, true)?,
            None => format!("step{number}"),
        };
        self.attrs(node, &[]);
        let mut prompt = Vec::new();
        let mut solution: Option<Vec<Block>> = None;
        let mut rubric: Option<Vec<RubricItem>> = None;
        for c in &node.content {
            match c {
                Content::Text(span) => prompt.extend(self.markdown(*span)),
                Content::Node(child) if child.name == "solution" => {
                    self.id(child, false);
                    self.attrs(child, &[]);
                    let blocks = self.text_blocks(&child.content);
                    if solution.replace(blocks).is_some() {
                        self.sink.error(child.open, "a step has at most one `solution`");
                    }
                }
                Content::Node(child) if child.name == "rubric" => {
                    self.id(child, false);
                    self.attrs(child, &[]);
                    let items = self.rubric(child);
                    if rubric.replace(items).is_some() {
                        self.sink.error(child.open, "a step has at most one `rubric`");
                    }
                }
                Content::Node(_) => {}
            }
        }
        if rubric.is_none() {
            self.sink.warning(node.open, format!("step `{id}` has no rubric: it can only be graded by hand"));
        }
        Some(Step {
            id,
            prompt,
            solution: solution.unwrap_or_default(),
            rubric: rubric.unwrap_or_default(),
            span: node.open,
        })
    }

    /// `- POINTS: feedback `phrase`, `/regex/``, one item a line.
    fn rubric(&mut self, node: &Node) -> Vec<RubricItem> {
        let mut items = Vec::new();
        for c in &node.content {
            let Content::Text(span) = c else { continue };
            let whole = self.outline();
            for block in whole.view(*span).blocks {
                if let TopKind::List(list) = &block.kind {
                    items.extend(list.iter().filter_map(|item| self.rubric_item(item)));
                }
            }
        }
        if items.is_empty() {
            self.sink.error(node.open, "rubric holds no item: write items as ``- 2: feedback `phrase` ``");
        }
        items
    }

    fn rubric_item(&mut self, item: &ListItem<'_>) -> Option<RubricItem> {
        let source = self.text[item.span.range()].trim_start();
        // Skip the bullet (`-`, `*`, `+`, or `1.` / `1)`) and the space after it.
        let after_bullet = source.trim_start_matches(|c: char| c.is_ascii_digit());
        let after_bullet = after_bullet.strip_prefix(['-', '*', '+', '.', ')']).unwrap_or(after_bullet);
        let content_start = item.span.end - after_bullet.trim_start().len();
        let first_code = item.code.first().map_or(item.span.end, |c| c.0.start);
        let head = &self.text[content_start..first_code];
        let Some(colon) = head.find(':') else {
            self.sink.error(item.span, "a rubric item starts with its points: ``- 2: feedback `phrase` ``");
            return None;
        };
        let points_text = head[..colon].trim();
        let points = match points_text.parse::<f64>() {
            Ok(p) if p.is_finite() => p,
            _ => {
                let at = Span::new(content_start, content_start + colon);
                self.sink.error(at, format!("rubric points `{points_text}` are not a number"));
                return None;
            }
        };
        let feedback = head[colon + 1..].trim().trim_end_matches([',', ';', '、', ',', ' ']).trim().to_string();
        let mut accept = Vec::new();
        for (at, code) in &item.code {
            if let Some(a) = self.accept(code, *at) {
                accept.push(a);
            }
        }
        if item.code.is_empty() {
            self.sink.warning(item.span, "rubric item has no accepted phrase (a `code span`): it can only be graded by hand");
        } else {
            // Between and after the phrases only separators belong; words there would be
            // lost from the feedback.
            let mut prev = item.code[0].0.end;
            for at in item.code.iter().skip(1).map(|c| c.0).chain([Span::new(item.span.end, item.span.end)]) {
                let gap = &self.text[prev..at.start];
                if gap.chars().any(char::is_alphanumeric) {
                    let gap_span = Span::new(prev, at.start);
                    self.sink.warning(
                        trimmed(self.text, gap_span),
                        "text after the first phrase is not part of the feedback: put the feedback first, then the `phrases`",
                    );
                    break;
                }
                prev = at.end;
            }
        }
        Some(RubricItem { points, feedback, accept, span: item.span })
    }

    fn exercise(&mut self, node: &Node) -> Option<ExerciseEmbed> {
        let id = self.id(node, true)?;
        self.attrs(node, &[]);
        for c in &node.content {
            if let Content::Text(span) = c
                && !self.text[span.range()].trim().is_empty() {
                    self.sink.warning(*span, "text inside `exercise` is not shown; the statement comes from exercise.toml");
                }
        }
        Some(ExerciseEmbed { id, span: node.open })
    }
}

/// Levenshtein distance, for "did you mean" hints on short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `span` without the blank space around it.
fn trimmed(text: &str, span: Span) -> Span {
    let chunk = &text[span.range()];
    let start = span.start + (chunk.len() - chunk.trim_start().len());
    Span::new(start, start + chunk.trim().len())
}

fn split_bar(s: &str) -> (&str, &str) {
    match s.find('|') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// The span of `key` where it starts a line of a TOML source (for warnings on keys).
pub(crate) fn find_key(source: &str, key: &str) -> Option<Span> {
    let mut pos = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        if trimmed.starts_with(key) && trimmed[key.len()..].trim_start().starts_with('=') {
            return Some(Span::new(pos + lead, pos + lead + key.len()));
        }
        pos += line.len();
    }
    None
}

/// An option's text as a reader sees it: its Markdown's inline events with the source's
/// spelling of markup dropped (`**a**` and `__a__` are one), spaces collapsed.
fn rendered_form(md: &str) -> String {
    use pulldown_cmark::{Event, Parser, Tag};
    let mut out = String::new();
    for e in Parser::new_ext(&crate::dollars::pandoc_dollars(md), crate::markdown::options()) {
        match e {
            Event::Text(t) => out.push_str(&t.split_whitespace().collect::<Vec<_>>().join(" ")),
            Event::Code(t) => out.push_str(&format!("`{t}`")),
            Event::InlineMath(t) => out.push_str(&format!("${t}$")),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::Start(Tag::Emphasis) => out.push_str("<em>"),
            Event::Start(Tag::Strong) => out.push_str("<strong>"),
            Event::Start(Tag::Link { dest_url, .. }) => out.push_str(&format!("<a {dest_url}>")),
            Event::End(_) => out.push_str("</>"),
            Event::Start(Tag::Paragraph) => {}
            other => out.push_str(&format!("{other:?}")),
        }
    }
    out.trim().to_owned()
}

/// A definition's source as it reads outside its container: a definition inside a
/// blockquote or callout has the container's `>` markers on its later lines, which
/// copied elsewhere would be a blockquote of their own.
fn unquoted(text: &str, span: Span) -> String {
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..span.start];
    let quotes = prefix.chars().filter(|c| *c == '>').count();
    if quotes == 0 || !prefix.chars().all(|c| c == '>' || c == ' ' || c == '\t') {
        return text[span.range()].to_owned();
    }
    let mut out = String::new();
    for (i, line) in text[span.range()].split_inclusive('\n').enumerate() {
        if i == 0 {
            out.push_str(line);
            continue;
        }
        // Drop as many `>` markers as the definition's first line stood behind, each
        // with the one space after it.
        let mut rest = line;
        for _ in 0..quotes {
            let trimmed = rest.trim_start_matches([' ', '\t']);
            match trimmed.strip_prefix('>') {
                Some(r) => rest = r.strip_prefix(' ').unwrap_or(r),
                None => break,
            }
        }
        out.push_str(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_matter_fast_path_agrees_with_toml() {
        let cases = [
            "title = \"Attention 注意力\"\nlesson = 2\n",
            "title = \"x\"\n\n",
            "lesson = 07\ntitle = \"x\"\n",
            "title = \"a \\\"quoted\\\" word\"\n",
            "title = \"x\" # comment\n",
            "title = 'literal'\n",
            "title = \"x\"\ntitle = \"y\"\n",
            "lesson = 99999999999\n",
            "draft = true\n",
        ];
        for source in cases {
            let fast = simple_front_matter(source);
            let full = toml::from_str::<FrontMatter>(source).ok();
            if let Some(fast) = fast {
                let full = full.unwrap_or_else(|| panic!("fast path accepted what TOML rejects: {source:?}"));
                assert_eq!((fast.title, fast.lesson), (full.title, full.lesson), "{source:?}");
            }
        }
        assert!(simple_front_matter(cases[0]).is_some(), "the usual shape takes the fast path");
    }
}


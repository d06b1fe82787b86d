//! Markdown to HTML: pulldown-cmark with Lectern's options, every formula as MathML
//! (pulldown-latex, at build time: no JavaScript, no CDN), code blocks highlighted.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Parser, Tag, TagEnd};

use crate::highlight::{escape, highlight};

/// One lesson page being rendered: its blocks are Markdown runs rendered apart (around
/// quizzes, cards, callouts, code), but the page is one document. Link and footnote
/// definitions from anywhere in the lesson reach every run; footnotes are numbered once
/// for the page in the order of their first reference, linked both ways and listed at
/// its end ([`Page::footnotes`]); headings get ids by [`lectern_lesson::anchors`], unique
/// on the page.
#[derive(Debug, Default)]
pub struct Page {
    /// The lesson's link reference and footnote definitions, appended to every run.
    defs: String,
    state: std::cell::RefCell<PageState>,
}

#[derive(Debug, Default)]
struct PageState {
    ids: lectern_lesson::anchors::Ids,
    /// Footnote labels in the order of first reference; a label's number is its index + 1.
    numbers: Vec<String>,
    /// References made so far, per footnote number.
    refs: Vec<usize>,
    /// Each label's definition, rendered (the first definition of a label wins).
    bodies: std::collections::HashMap<String, String>,
}

impl Page {
    /// A page for `lesson`: its definitions, and the ids its constructs hold taken.
    pub fn new(lesson: &lectern_lesson::Lesson) -> Page {
        let mut defs = lesson.link_definitions.clone();
        if !lesson.footnote_definitions.is_empty() {
            defs.push('\n');
            defs.push_str(&lesson.footnote_definitions);
        }
        let mut state = PageState::default();
        // Constructs, footnotes and explicit heading ids: generated ids avoid them.
        for b in &lesson.blocks {
            match b {
                lectern_lesson::Block::Quiz(q) => state.ids.take(&lectern_lesson::anchors::quiz(&q.id)),
                lectern_lesson::Block::Challenge(c) => state.ids.take(&lectern_lesson::anchors::challenge(&c.id)),
                _ => true,
            };
        }
        for id in lesson.anchors.iter().filter(|a| a.strip_prefix("fn-").is_some_and(|n| n.parse::<usize>().is_ok())) {
            state.ids.take(id);
        }
        for id in &lesson.explicit_ids {
            state.ids.take(id);
        }
        Page { defs, state: std::cell::RefCell::new(state) }
    }

    /// A run of the page's Markdown as HTML.
    pub fn markdown(&self, md: &str) -> String {
        if self.defs.is_empty() {
            return self.render(md);
        }
        self.render(&format!("{md}\n\n{}", self.defs))
    }

    /// Inline Markdown of the page (a card title, an option) without its paragraph.
    pub fn inline(&self, md: &str) -> String {
        strip_paragraph(self.markdown(md))
    }

    /// An id for a heading rendered by a template (a card's title), unique on the page.
    pub fn heading_id(&self, text: &str) -> String {
        // Read as a heading's content, as the lesson crate reads it (`1. Title` is no list).
        let heading = format!("# {text}");
        let words: String = Parser::new_ext(&lectern_lesson::dollars::pandoc_dollars(&heading), lectern_lesson::markdown::options())
            .filter_map(|e| match e {
                Event::Text(t) | Event::Code(t) => Some(t),
                _ => None,
            })
            .collect::<Vec<_>>()
            .concat();
        self.state.borrow_mut().ids.heading(&words)
    }

    /// The page's footnotes, numbered, each with links back to its references; empty
    /// when the page references none.
    pub fn footnotes(&self) -> String {
        let state = self.state.borrow();
        if state.numbers.is_empty() {
            return String::new();
        }
        let mut out = String::from("<section class=\"footnotes\" id=\"footnotes\" role=\"doc-endnotes\">\n<hr>\n<ol>\n");
        for (i, label) in state.numbers.iter().enumerate() {
            let n = i + 1;
            let back: String = (1..=state.refs[i])
                .map(|k| format!(" <a href=\"#{}\" class=\"footnote-backref\" role=\"doc-backlink\" aria-label=\"Back to reference {n}{}\">↩</a>", lectern_lesson::anchors::footnote_ref(n, k), if k > 1 { format!("-{k}") } else { String::new() }))
                .collect();
            let body = state.bodies.get(label).cloned().unwrap_or_default();
            // The back links go inside the last paragraph, as GitHub and Pandoc put them.
            let body = match body.trim_end().strip_suffix("</p>") {
                Some(head) => format!("{head}{back}</p>\n"),
                None => format!("{body}<p>{back}</p>\n"),
            };
            out.push_str(&format!("<li id=\"{}\">\n{body}</li>\n", lectern_lesson::anchors::footnote(n)));
        }
        out.push_str("</ol>\n</section>\n");
        out
    }

    fn render(&self, md: &str) -> String {
        let md = lectern_lesson::dollars::pandoc_dollars(md);
        let md = crate::cjk::prepare(&md);
        let events: Vec<Event<'_>> = events(&md).collect();
        let mut out = String::with_capacity(md.len() * 3 / 2);
        let mut kept: Vec<Event<'_>> = Vec::with_capacity(events.len());
        let mut i = 0;
        while i < events.len() {
            match &events[i] {
                Event::Start(Tag::FootnoteDefinition(label)) => {
                    // Lifted out of the run: the page lists it once, at its end.
                    let mut depth = 0;
                    let start = i + 1;
                    while i < events.len() {
                        match &events[i] {
                            Event::Start(Tag::FootnoteDefinition(_)) => depth += 1,
                            Event::End(TagEnd::FootnoteDefinition) => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    let label = label.to_string();
                    if !self.state.borrow().bodies.contains_key(&label) {
                        let body = self.html_of(events[start..i.min(events.len())].to_vec());
                        self.state.borrow_mut().bodies.insert(label, body);
                    }
                }
                Event::FootnoteReference(label) => {
                    let mut state = self.state.borrow_mut();
                    let n = match state.numbers.iter().position(|l| l == label.as_ref()) {
                        Some(i) => i + 1,
                        None => {
                            state.numbers.push(label.to_string());
                            state.refs.push(0);
                            state.numbers.len()
                        }
                    };
                    state.refs[n - 1] += 1;
                    let k = state.refs[n - 1];
                    kept.push(Event::InlineHtml(CowStr::from(format!(
                        "<sup class=\"footnote-ref\"><a href=\"#{}\" id=\"{}\" role=\"doc-noteref\">{n}</a></sup>",
                        lectern_lesson::anchors::footnote(n),
                        lectern_lesson::anchors::footnote_ref(n, k)
                    ))));
                }
                Event::Start(Tag::Heading { level, id, classes, attrs }) => {
                    let end = events[i..].iter().position(|e| matches!(e, Event::End(TagEnd::Heading(_)))).map_or(events.len(), |p| i + p);
                    let id = match id {
                        Some(id) => id.clone(),
                        None => {
                            let text: String = events[i + 1..end]
                                .iter()
                                .filter_map(|e| match e {
                                    Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                                    _ => None,
                                })
                                .collect();
                            CowStr::from(self.state.borrow_mut().ids.heading(&text))
                        }
                    };
                    kept.push(Event::Start(Tag::Heading { level: *level, id: Some(id), classes: classes.clone(), attrs: attrs.clone() }));
                }
                other => kept.push(other.clone()),
            }
            i += 1;
        }
        pulldown_cmark::html::push_html(&mut out, kept.into_iter());
        out
    }

    fn html_of(&self, events: Vec<Event<'_>>) -> String {
        let mut out = String::new();
        // References inside a definition number like any other.
        let mut kept = Vec::with_capacity(events.len());
        for e in events {
            match e {
                Event::FootnoteReference(label) => {
                    let n = self.state.borrow().numbers.iter().position(|l| l == label.as_ref()).map(|i| i + 1);
                    kept.push(Event::InlineHtml(CowStr::from(match n {
                        Some(n) => format!("<sup class=\"footnote-ref\"><a href=\"#{}\">{n}</a></sup>", lectern_lesson::anchors::footnote(n)),
                        None => String::new(),
                    })));
                }
                other => kept.push(other),
            }
        }
        pulldown_cmark::html::push_html(&mut out, kept.into_iter());
        out
    }
}

/// A run of Markdown as HTML, with no page around it (the index, a title).
pub fn markdown(md: &str) -> String {
    Page::default().render(md)
}

/// A title as plain text for `<title>`, navigation and ids: Markdown markup dropped,
/// a formula as its TeX.
pub fn plain_text(md: &str) -> String {
    let mut out = String::new();
    for event in Parser::new_ext(&lectern_lesson::dollars::pandoc_dollars(md), lectern_lesson::markdown::options()) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Lectern's Markdown events: formulas as MathML and code blocks highlighted, the rest
/// as pulldown-cmark gives them.
fn events(md: &str) -> impl Iterator<Item = Event<'_>> {
    let mut code: Option<(Option<String>, String)> = None;
    Parser::new_ext(md, lectern_lesson::markdown::options()).filter_map(move |event| match event {
        Event::InlineMath(tex) => Some(Event::InlineHtml(CowStr::from(math(&tex, false)))),
        Event::DisplayMath(tex) => Some(Event::InlineHtml(CowStr::from(math(&tex, true)))),
        Event::Start(Tag::CodeBlock(kind)) => {
            let lang = match kind {
                CodeBlockKind::Fenced(info) => info.split_whitespace().next().map(str::to_string),
                CodeBlockKind::Indented => None,
            };
            code = Some((lang, String::new()));
            None
        }
        Event::Text(text) if code.is_some() => {
            if let Some((_, body)) = code.as_mut() {
                body.push_str(&text);
            }
            None
        }
        Event::End(TagEnd::CodeBlock) => code.take().map(|(lang, body)| Event::Html(CowStr::from(code_block(lang.as_deref(), &body)))),
        other => Some(other),
    })
}

fn strip_paragraph(html: String) -> String {
    let trimmed = html.trim_end();
    match trimmed.strip_prefix("<p>").and_then(|s| s.strip_suffix("</p>")) {
        Some(inner) if !inner.contains("<p>") => inner.to_string(),
        _ => html,
    }
}

/// Inline Markdown (an option, a card title) as HTML without the wrapping paragraph.
pub fn inline(md: &str) -> String {
    strip_paragraph(markdown(md))
}

/// A highlighted `<pre>` block.
pub fn code_block(lang: Option<&str>, code: &str) -> String {
    let class = lang.map(|l| format!(" class=\"language-{}\"", escape(l))).unwrap_or_default();
    format!("<pre class=\"code\"><code{class}>{}</code></pre>\n", highlight(lang, code))
}

/// A formula as MathML. The parser checked every formula, so a failure here means the
/// page was built from an unchecked course: show the TeX rather than fail the build.
pub fn math(tex: &str, display: bool) -> String {
    crate::mathml::math(tex, display)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_becomes_mathml_and_underscores_stay_tex() {
        let html = markdown("Let $d_k$ be *the* width.");
        assert!(html.contains("<math"), "{html}");
        assert!(html.contains("<msub>"), "{html}");
        assert!(html.contains("<em>the</em>"), "{html}");
        assert!(!html.contains("$"), "{html}");
    }

    #[test]
    fn display_math_is_a_block() {
        let html = markdown("$$\\frac{QK^T}{\\sqrt{d_k}}$$");
        assert!(html.contains("<span class=\"math-display\"><math display=\"block\""), "{html}");
        assert!(html.contains("<mfrac>") && html.contains("<msqrt>"), "{html}");
    }

    #[test]
    fn code_blocks_are_highlighted_and_inline_strips_the_paragraph() {
        let html = markdown("```python\nimport numpy\n```\n");
        assert_eq!(html, "<pre class=\"code\"><code class=\"language-python\"><span class=\"hl-kw\">import</span> numpy\n</code></pre>\n");
        assert_eq!(inline("**bold** option"), "<strong>bold</strong> option");
    }
}

//! Markdown to HTML: pulldown-cmark with Lectern's options, every formula as MathML
//! (pulldown-latex, at build time: no JavaScript, no CDN), code blocks highlighted.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Parser, Tag, TagEnd};
use pulldown_latex::config::DisplayMode;

use crate::highlight::{escape, highlight};

/// A run of Markdown as HTML, with the lesson's link reference definitions (`defs`)
/// available to it (they render nothing themselves).
pub fn markdown_with(md: &str, defs: &str) -> String {
    if defs.is_empty() {
        return markdown(md);
    }
    markdown(&format!("{md}\n\n{defs}"))
}

/// A run of Markdown as HTML.
pub fn markdown(md: &str) -> String {
    let mut out = String::with_capacity(md.len() * 3 / 2);
    let mut code: Option<(Option<String>, String)> = None;
    let events = Parser::new_ext(md, lectern_lesson::markdown::options()).filter_map(|event| match event {
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
    });
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// Inline Markdown (an option, a card title) as HTML without the wrapping paragraph.
pub fn inline(md: &str) -> String {
    let html = markdown(md);
    let trimmed = html.trim_end();
    match trimmed.strip_prefix("<p>").and_then(|s| s.strip_suffix("</p>")) {
        Some(inner) if !inner.contains("<p>") => inner.to_string(),
        _ => html,
    }
}

/// A highlighted `<pre>` block.
pub fn code_block(lang: Option<&str>, code: &str) -> String {
    let class = lang.map(|l| format!(" class=\"language-{}\"", escape(l))).unwrap_or_default();
    format!("<pre class=\"code\"><code{class}>{}</code></pre>\n", highlight(lang, code))
}

/// A formula as MathML. The parser checked every formula, so a failure here means the
/// page was built from an unchecked course: show the TeX rather than fail the build.
pub fn math(tex: &str, display: bool) -> String {
    let storage = pulldown_latex::Storage::new();
    let parser = pulldown_latex::Parser::new(tex, &storage);
    let config = pulldown_latex::RenderConfig {
        display_mode: if display { DisplayMode::Block } else { DisplayMode::Inline },
        ..Default::default()
    };
    let mut out = String::new();
    match pulldown_latex::push_mathml(&mut out, parser, config) {
        Ok(()) if display => format!("<span class=\"math-display\">{out}</span>"),
        Ok(()) => out,
        Err(_) => format!("<code class=\"math-error\">{}</code>", escape(tex)),
    }
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

//! Formulas as MathML that holds nothing a lesson typed as markup.
//!
//! pulldown-latex escapes the text of `\text{…}` but writes some of what a formula holds
//! as it stands: `\operatorname{…}`'s and `\mathop{…}`'s argument, and single characters
//! such as `<` or `&` (`\mathbin{<}`, `\&`). And it renders `~` and `\ ` as the text
//! `&nbsp;`, which it then escapes, so the reader sees `&nbsp;`. So [`math`] fixes the
//! events on the way in (`~` and `\ ` become a space, an operator name is escaped) and
//! then walks the MathML that comes out: an element that is not one pulldown-latex
//! writes, an attribute it does not write or an entity it does not use is escaped, so it
//! shows as the text it was typed as.

use pulldown_latex::config::DisplayMode;
use pulldown_latex::event::{Content, Dimension, DimensionUnit, Event};

use crate::highlight::escape;

/// The MathML elements pulldown-latex writes.
pub const ELEMENTS: &[&str] = &[
    "annotation", "math", "menclose", "merror", "mfrac", "mi", "mn", "mo", "mover", "mpadded", "mroot", "mrow", "mspace",
    "msqrt", "mstyle", "msub", "msubsup", "msup", "mtable", "mtd", "mtext", "mtr", "munder", "munderover", "semantics",
];

/// The attributes pulldown-latex writes, on any of its elements.
pub const ATTRIBUTES: &[&str] = &[
    "class", "depth", "display", "displaystyle", "encoding", "height", "largeop", "linethickness", "mathvariant", "maxsize",
    "minsize", "movablelimits", "scriptlevel", "stretchy", "style", "symmetric", "width", "xmlns",
];

/// The entities pulldown-latex (and [`math`]) write: the escapes of `&`, `<` and `>`,
/// and the no-break space around `\text{ x }`.
pub const ENTITIES: &[&str] = &["&amp;", "&lt;", "&gt;", "&nbsp;"];

/// The space `~` and `\ ` make: TeX's interword space.
const WORD_SPACE_EM: f32 = 0.333;

/// A formula as MathML, wrapped in `<span class="math-display">` when `display`. A
/// formula pulldown-latex cannot parse shows as its TeX in `<code class="math-error">`
/// (the parser checked every formula, so that means the page was built from an unchecked
/// course).
pub fn math(tex: &str, display: bool) -> String {
    let storage = pulldown_latex::Storage::new();
    let events: Vec<_> = pulldown_latex::Parser::new(tex, &storage).collect();
    if events.iter().any(Result::is_err) {
        // pulldown-latex would write its message, which quotes the formula unescaped.
        return format!("<code class=\"math-error\">{}</code>", escape(tex));
    }
    // pulldown-latex writes an operator's name as it stands: keep an escaped copy of the
    // names that need one, for the events to borrow.
    let escaped_names: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Ok(Event::Content(Content::Function(name))) if needs_escape(name) => Some(escape_text(name)),
            _ => None,
        })
        .collect();
    let mut names = escaped_names.iter();
    let events = events.into_iter().map(|event| match event {
        // `~`, `\ ` and `\nobreakspace`: pulldown-latex's text `&nbsp;` shows as itself.
        Ok(Event::Content(Content::Text(text))) if text.trim() == "&nbsp;" => Ok(Event::Space {
            width: Some(Dimension::new(WORD_SPACE_EM, DimensionUnit::Em)),
            height: None,
            depth: None,
        }),
        Ok(Event::Content(Content::Function(name))) if needs_escape(name) => {
            Ok(Event::Content(Content::Function(names.next().map_or("", String::as_str))))
        }
        other => other,
    });
    let config = pulldown_latex::RenderConfig {
        display_mode: if display { DisplayMode::Block } else { DisplayMode::Inline },
        ..Default::default()
    };
    let mut out = String::new();
    match pulldown_latex::push_mathml(&mut out, events, config) {
        Ok(()) if display => format!("<span class=\"math-display\">{}</span>", sanitize(&out)),
        Ok(()) => sanitize(&out).into_owned(),
        Err(_) => format!("<code class=\"math-error\">{}</code>", escape(tex)),
    }
}

fn needs_escape(text: &str) -> bool {
    text.contains(['&', '<', '>'])
}

/// Element text escaped as pulldown-latex escapes `\text{…}`: `&`, `<` and `>` only (the
/// escapes of [`ENTITIES`]).
fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `mathml` with every `<` that does not open one of pulldown-latex's own tags, every
/// `>` that does not close one and every `&` that does not start one of [`ENTITIES`]
/// escaped. Borrowed when nothing needed it (nearly always).
pub fn sanitize(mathml: &str) -> std::borrow::Cow<'_, str> {
    let bytes = mathml.as_bytes();
    let mut out: Option<String> = None;
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (len, replacement) = match bytes[i] {
            b'<' => match tag_len(&mathml[i..]) {
                Some(len) => (len, None),
                None => (1, Some("&lt;")),
            },
            b'>' => (1, Some("&gt;")),
            b'&' => match ENTITIES.iter().find(|e| mathml[i..].starts_with(**e)) {
                Some(entity) => (entity.len(), None),
                None => (1, Some("&amp;")),
            },
            _ => (1, None),
        };
        if let Some(replacement) = replacement {
            let out = out.get_or_insert_with(|| String::with_capacity(mathml.len() + 16));
            out.push_str(&mathml[from..i]);
            out.push_str(replacement);
            from = i + len;
        }
        i += len;
    }
    match out {
        None => std::borrow::Cow::Borrowed(mathml),
        Some(mut out) => {
            out.push_str(&mathml[from..]);
            std::borrow::Cow::Owned(out)
        }
    }
}

/// The length of the tag `s` starts with, if it is one pulldown-latex writes: an element
/// of [`ELEMENTS`], opening, closing or empty, with attributes of [`ATTRIBUTES`] whose
/// values are plain (letters, digits, spaces and `.,:;%#()-_`).
fn tag_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    let closing = bytes.get(i) == Some(&b'/');
    i += usize::from(closing);
    let name_len = bytes[i..].iter().take_while(|b| b.is_ascii_lowercase()).count();
    if !ELEMENTS.contains(&&s[i..i + name_len]) {
        return None;
    }
    i += name_len;
    loop {
        while bytes.get(i) == Some(&b' ') {
            i += 1;
        }
        match bytes.get(i)? {
            b'>' => return Some(i + 1),
            b'/' if !closing && bytes.get(i + 1) == Some(&b'>') => return Some(i + 2),
            _ if closing => return None,
            _ => {}
        }
        // An attribute: pulldown-latex sometimes writes one right after the last quote.
        let attr_len = bytes[i..].iter().take_while(|b| b.is_ascii_lowercase() || **b == b'-').count();
        if !ATTRIBUTES.contains(&&s[i..i + attr_len]) {
            return None;
        }
        i += attr_len;
        if bytes.get(i) != Some(&b'=') || bytes.get(i + 1) != Some(&b'"') {
            return None;
        }
        i += 2;
        let value_len = s[i..].find('"')?;
        let plain = s[i..i + value_len]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .,:;%#()-_".contains(c));
        if !plain {
            return None;
        }
        i += value_len + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_are_spaces() {
        for tex in ["a~b", "a\\ b", "a\\nobreakspace b"] {
            let html = math(tex, false);
            assert!(!html.contains("&amp;nbsp;") && !html.contains("nbsp"), "{tex}: {html}");
            assert!(html.contains("<mspace width=\"0.333em\" />"), "{tex}: {html}");
        }
        // A space at the ends of `\text{…}` is pulldown-latex's own `&nbsp;`, kept.
        let html = math("\\text{if }x", false);
        assert!(html.contains("<mtext>if&nbsp;</mtext>"), "{html}");
    }

    #[test]
    fn operator_names_are_text() {
        let html = math("\\operatorname{<b>top</b>k}(x)", false);
        assert!(html.contains("<mi>&lt;b&gt;top&lt;/b&gt;k</mi>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        let html = math("\\mathop{<img src=x onerror=alert(1)>}", false);
        assert!(!html.contains("<img"), "{html}");
        assert_eq!(math("\\operatorname{softmax}(x)", false), math("\\operatorname{softmax}(x)", false));
        assert!(math("\\operatorname{softmax}(x)", false).contains("<mi>softmax</mi>"));
    }

    #[test]
    fn characters_pulldown_latex_writes_raw_are_escaped() {
        let html = math("\\mathbin{<} \\mathrel{>} \\& \\mathord{&}", false);
        assert!(html.contains("&lt;") && html.contains("&gt;") && html.contains("&amp;"), "{html}");
        assert_eq!(html.matches('<').count(), html.matches('>').count(), "{html}");
    }

    #[test]
    fn broken_tex_shows_as_code() {
        assert_eq!(math("\\foo{<b>}", false), "<code class=\"math-error\">\\foo{&lt;b&gt;}</code>");
        assert!(math("\\frac{a}{b", true).starts_with("<code class=\"math-error\">"));
    }

    #[test]
    fn display_math_is_wrapped() {
        let html = math("\\frac{QK^T}{\\sqrt{d_k}}", true);
        assert!(html.starts_with("<span class=\"math-display\"><math display=\"block\">"), "{html}");
        assert!(html.ends_with("</math></span>"), "{html}");
    }

    #[test]
    fn the_sanitizer_keeps_mathml_and_escapes_the_rest() {
        let ok = "<math display=\"inline\"><mo symmetric=\"true\" stretchy=\"true\"minsize=\"1.2em\">(</mo><mspace width=\"0.1667em\" /><mtext>a&nbsp;&amp;</mtext></math>";
        assert!(matches!(sanitize(ok), std::borrow::Cow::Borrowed(_)));
        assert_eq!(sanitize("<mi><b>x</b></mi>"), "<mi>&lt;b&gt;x&lt;/b&gt;</mi>");
        assert_eq!(sanitize("<mi onclick=\"x\">a</mi>"), "&lt;mi onclick=\"x\"&gt;a</mi>");
        assert_eq!(sanitize("<mi style=\"x:url('j')\">a</mi>"), "&lt;mi style=\"x:url('j')\"&gt;a</mi>");
        assert_eq!(sanitize("<mo><</mo><mi>&</mi><mi>&copy;</mi>"), "<mo>&lt;</mo><mi>&amp;</mi><mi>&amp;copy;</mi>");
        assert_eq!(sanitize("<script>"), "&lt;script&gt;");
        assert_eq!(sanitize("</mi x>"), "&lt;/mi x&gt;");
        assert_eq!(sanitize("<"), "&lt;");
        assert_eq!(sanitize("<mi"), "&lt;mi");
    }
}

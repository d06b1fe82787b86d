//! Syntax highlighting with CSS classes, for the languages lessons use most (Python,
//! shell, TOML, JSON). One stylesheet colours the classes in light and dark schemes.
//!
//! A small tokenizer rather than a grammar engine: lessons show short files, and the
//! site must build fast and stay small. Unknown languages are escaped, not coloured.

/// `code` as HTML spans (`<span class="hl-kw">def</span>` …), escaped.
pub fn highlight(lang: Option<&str>, code: &str) -> String {
    let rules = match lang.map(str::to_ascii_lowercase).as_deref() {
        Some("python" | "py") => Rules { keywords: PYTHON, line_comment: "#", strings: &['"', '\''] },
        Some("bash" | "sh" | "shell" | "console") => Rules { keywords: SHELL, line_comment: "#", strings: &['"', '\''] },
        Some("toml") => Rules { keywords: &["true", "false"], line_comment: "#", strings: &['"', '\''] },
        Some("json") => Rules { keywords: &["true", "false", "null"], line_comment: "", strings: &['"'] },
        Some("rust" | "rs") => Rules { keywords: RUST, line_comment: "//", strings: &['"'] },
        _ => return escape(code),
    };
    tokenize(code, &rules)
}

struct Rules {
    keywords: &'static [&'static str],
    line_comment: &'static str,
    strings: &'static [char],
}

const PYTHON: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "print", "range", "len", "self",
];
const SHELL: &[&str] = &["if", "then", "else", "fi", "for", "do", "done", "case", "esac", "while", "echo", "export", "cd"];
const RUST: &[&str] = &[
    "fn", "let", "mut", "pub", "struct", "enum", "impl", "use", "mod", "match", "if", "else", "for", "in", "while",
    "return", "self", "Self", "true", "false", "const", "static", "where", "trait", "as", "ref", "loop",
];

fn tokenize(code: &str, rules: &Rules) -> String {
    let mut out = String::with_capacity(code.len() * 2);
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        if !rules.line_comment.is_empty() && rest.starts_with(rules.line_comment) {
            let end = rest.find('\n').unwrap_or(rest.len());
            span(&mut out, "hl-cm", &rest[..end]);
            rest = &rest[end..];
        } else if rules.strings.contains(&c) {
            let end = string_end(rest, c);
            span(&mut out, "hl-st", &rest[..end]);
            rest = &rest[end..];
        } else if c.is_ascii_digit() {
            let end = rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_')).unwrap_or(rest.len());
            span(&mut out, "hl-nu", &rest[..end]);
            rest = &rest[end..];
        } else if c.is_alphabetic() || c == '_' {
            let end = rest.find(|ch: char| !(ch.is_alphanumeric() || ch == '_')).unwrap_or(rest.len());
            let word = &rest[..end];
            if rules.keywords.contains(&word) {
                span(&mut out, "hl-kw", word);
            } else if rest[end..].starts_with('(') {
                span(&mut out, "hl-fn", word);
            } else {
                out.push_str(&escape(word));
            }
            rest = &rest[end..];
        } else {
            out.push_str(&escape(&rest[..c.len_utf8()]));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The end of a string literal starting at `s[0]` (triple quotes included), or the end
/// of the line when it never closes.
fn string_end(s: &str, quote: char) -> usize {
    let triple: String = std::iter::repeat_n(quote, 3).collect();
    if s.starts_with(&triple) {
        return s[3..].find(&triple).map_or(s.len(), |i| i + 6);
    }
    let mut escaped = false;
    for (i, ch) in s.char_indices().skip(1) {
        match ch {
            '\\' if !escaped => escaped = true,
            '\n' => return i,
            c if c == quote && !escaped => return i + 1,
            _ => escaped = false,
        }
    }
    s.len()
}

fn span(out: &mut String, class: &str, text: &str) {
    out.push_str("<span class=\"");
    out.push_str(class);
    out.push_str("\">");
    out.push_str(&escape(text));
    out.push_str("</span>");
}

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_keywords_strings_comments_and_numbers() {
        let html = highlight(Some("python"), "def f(x):  # <doc>\n    return \"a<b\" + 1.5\n");
        assert_eq!(
            html,
            "<span class=\"hl-kw\">def</span> <span class=\"hl-fn\">f</span>(x):  \
             <span class=\"hl-cm\"># &lt;doc&gt;</span>\n    <span class=\"hl-kw\">return</span> \
             <span class=\"hl-st\">&quot;a&lt;b&quot;</span> + <span class=\"hl-nu\">1.5</span>\n"
        );
    }

    #[test]
    fn unknown_languages_are_only_escaped() {
        assert_eq!(highlight(Some("cobol"), "<x>"), "&lt;x&gt;");
        assert_eq!(highlight(None, "a & b"), "a &amp; b");
    }

    #[test]
    fn unterminated_strings_stop_at_the_line_end() {
        let html = highlight(Some("python"), "x = 'abc\ny = 2");
        assert!(html.contains("<span class=\"hl-st\">&#39;abc</span>\ny"), "{html}");
    }
}

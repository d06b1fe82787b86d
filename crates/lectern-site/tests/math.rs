//! Whatever a lesson types inside a formula, the MathML holds only pulldown-latex's own
//! elements and attributes: markup typed in any argument shows as text.
//!
//! The inputs: every command in pulldown-latex 0.8's source that takes a text argument
//! (`\text` and its font variants, `\colorbox`, `\fcolorbox`, `\operatorname`, `\mathop`
//! and the other atom-class commands), plus math arguments (`\frac`, `\sqrt`, scripts,
//! fonts, environments, `\def`), each with markup, entities and quotes in every argument
//! position. The checker below reads the output on its own (it does not use the
//! sanitizer it checks).

use lectern_site::mathml::{math, ATTRIBUTES, ELEMENTS, ENTITIES};

/// What a lesson might type where text goes.
const PAYLOADS: &[&str] = &[
    "<b>top</b>k",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</mi><b>x",
    "&amp;",
    "&nbsp;",
    "&lt;b&gt;",
    "&#60;b&#62;",
    "&",
    "\"quoted\"",
    "'single'",
    "a\"b'c",
    "<",
    ">",
    "<!--x-->",
    "]]>",
    "a~b",
    "a\\ b",
    "x < y > z",
    "<math>",
    "<mi>",
    "<mtext style=\"color:red\">",
];

/// Formulas with one `{}` slot (several slots are filled alike); `#` marks the slot.
const TEMPLATES: &[&str] = &[
    // Text arguments.
    r"\text{@@}",
    r"\textrm{@@}",
    r"\textbf{@@}",
    r"\textit{@@}",
    r"\textsf{@@}",
    r"\texttt{@@}",
    r"\colorbox{red}{@@}",
    r"\fcolorbox{red}{blue}{@@}",
    r"\operatorname{@@}(x)",
    r"\operatorname{@@}_{i}",
    r"\mathop{@@}",
    r"\mathop{@@}\limits_{i}",
    r"\mathord{@@}",
    r"\mathbin{@@}",
    r"\mathrel{@@}",
    r"\mathopen{@@}",
    r"\mathclose{@@}",
    r"\mathpunct{@@}",
    r"\mathinner{@@}",
    // Text in math positions.
    r"x_{\text{@@}}^{\operatorname{@@}}",
    r"\frac{\text{@@}}{\operatorname{@@}}",
    r"\sqrt{\text{@@}}",
    r"\sqrt[\text{@@}]{x}",
    r"\left(\text{@@}\right)",
    r"\begin{cases} \text{@@} & x \\ y & \text{@@} \end{cases}",
    r"\begin{aligned} a &= \text{@@} \\ b &= \operatorname{@@} \end{aligned}",
    r"\begin{pmatrix} \text{@@} & \mathop{@@} \end{pmatrix}",
    r"\mathbf{\text{@@}}",
    r"\mathrm{\operatorname{@@}}",
    r"\textcolor{red}{\text{@@}}",
    r"\color{blue}\text{@@}",
    r"\def\x{\text{@@}}\x + \x",
    r"\def\f#1{\operatorname{#1}}\f{@@}",
    r"\overset{\text{@@}}{=}",
    r"\underbrace{x}_{\text{@@}}",
    // Math arguments (most payloads do not parse there: the TeX then shows as code).
    r"@@",
    r"x_{@@}",
    r"\frac{@@}{@@}",
    r"\mathbf{@@}",
    r"\hat{@@}",
];

/// Checks `html` (one formula's output) on its own terms: every tag is one of
/// pulldown-latex's elements (or the wrapper `span`/`code` of `math`), with its
/// attributes and plain values, tags nest, and text holds no `<`, `>` or stray `&`.
fn check(tex: &str, display: bool, html: &str) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let next = rest.find(['<', '>', '&']).unwrap_or(rest.len());
        rest = &rest[next..];
        let Some(c) = rest.chars().next() else { break };
        match c {
            '>' => return Err(format!("a bare `>` in text: {rest:.40}")),
            '&' => {
                // A formula that does not parse is its TeX in `<code>`, HTML-escaped.
                let quotes: &[&str] = if stack == ["code"] { &["&quot;", "&#39;"] } else { &[] };
                let entity = ENTITIES
                    .iter()
                    .chain(quotes)
                    .find(|e| rest.starts_with(**e))
                    .ok_or_else(|| format!("entity {rest:.12}"))?;
                rest = &rest[entity.len()..];
            }
            _ => {
                let end = rest.find('>').ok_or_else(|| format!("unclosed tag: {rest:.40}"))?;
                let tag = &rest[1..end];
                rest = &rest[end + 1..];
                if let Some(name) = tag.strip_prefix('/') {
                    if stack.pop() != Some(name) {
                        return Err(format!("`</{name}>` closes nothing open"));
                    }
                    continue;
                }
                let empty = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let name_len = tag.find([' ', '/']).unwrap_or(tag.len());
                let name = &tag[..name_len];
                let wrapper = (name == "span" && tag == "span class=\"math-display\"")
                    || (name == "code" && tag == "code class=\"math-error\"");
                if !wrapper && !ELEMENTS.contains(&name) {
                    return Err(format!("element `<{tag}>`"));
                }
                let mut attrs = &tag[name_len..];
                while !attrs.trim().is_empty() && !wrapper {
                    attrs = attrs.trim_start();
                    let (attr, after) = attrs.split_once("=\"").ok_or_else(|| format!("attribute syntax in `<{tag}>`"))?;
                    let (value, after) = after.split_once('"').ok_or_else(|| format!("attribute value in `<{tag}>`"))?;
                    if !ATTRIBUTES.contains(&attr) {
                        return Err(format!("attribute `{attr}` in `<{tag}>`"));
                    }
                    if !value.chars().all(|c| c.is_ascii_alphanumeric() || " .,:;%#()-_".contains(c)) {
                        return Err(format!("attribute value `{value}` in `<{tag}>`"));
                    }
                    attrs = after;
                }
                if !empty {
                    stack.push(name);
                }
            }
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    let _ = (tex, display);
    Ok(())
}

#[test]
fn nothing_a_lesson_types_survives_as_markup() {
    let mut failures = Vec::new();
    let (mut rendered, mut total) = (0usize, 0usize);
    for template in TEMPLATES {
        for payload in PAYLOADS {
            let tex = template.replace("@@", payload);
            for display in [false, true] {
                let html = math(&tex, display);
                total += 1;
                rendered += usize::from(html.contains("<math"));
                if let Err(e) = check(&tex, display, &html) {
                    failures.push(format!("{tex:?} (display: {display}): {e}\n  {html}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    // Most inputs render: the check is not only reading error messages.
    assert!(rendered * 2 > total, "only {rendered} of {total} formulas rendered");
}

#[test]
fn typed_markup_shows_as_the_text_it_was_typed_as() {
    for (tex, shown) in [
        (r"\text{<b>top</b>k}", "&lt;b&gt;top&lt;/b&gt;k"),
        (r"\operatorname{<b>top</b>k}(x)", "&lt;b&gt;top&lt;/b&gt;k"),
        (r"\mathop{<img src=x onerror=alert(1)>}", "&lt;img src=x onerror=alert(1)&gt;"),
        (r"\text{&amp;}", "&amp;amp;"),
        (r"\operatorname{&amp;}", "&amp;amp;"),
        (r#"\text{"a" 'b'}"#, r#""a" 'b'"#),
    ] {
        let html = math(tex, false);
        assert!(html.contains(shown), "{tex}: {html}");
    }
}

#[test]
fn tilde_and_control_space_are_spaces() {
    for tex in ["a~b", r"a\ b", r"\text{a}~\text{b}"] {
        let html = math(tex, false);
        assert!(!html.contains("nbsp;</mtext>") && !html.contains("&amp;nbsp;"), "{tex}: {html}");
        assert!(html.contains("<mspace width="), "{tex}: {html}");
    }
}

/// Generated formulas from pieces (the shape of `tex_check`'s property test): whatever
/// pulldown-latex makes of them, the output passes the checker.
#[test]
fn generated_formulas_stay_mathml() {
    const PIECES: &[&str] = &[
        "a", "x", "2", " ", "~", "\\ ", "{", "}", "^", "_", "&", "<", ">", "\"", "'", "\\&", "\\{", "\\}", "\\text{", "\\operatorname{",
        "\\mathop{", "\\mathbin{", "\\frac", "\\sqrt", "\\left(", "\\right)", "<b>", "</b>", "&amp;", "&nbsp;", "\\\\", "\\begin{cases}",
        "\\end{cases}", "\\colorbox{red}{", "\\def\\x{", "\\x", "#1", "\\color{red}", "\\mathbf{", "\\alpha", "=", "|",
    ];
    let mut state = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut failures = Vec::new();
    for _ in 0..20_000 {
        let len = 1 + (next() % 10) as usize;
        let tex: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
        let display = next() % 2 == 0;
        let html = math(&tex, display);
        if let Err(e) = check(&tex, display, &html) {
            failures.push(format!("{tex:?}: {e}\n  {html}"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n"));
}

/// Prices through the whole pipeline: the lesson parser reports nothing and keeps them as
/// written, the site renders them as text, and a formula that is prose is warned about.
/// Needs `pandoc_dollars` in `render.rs` and the masking and warning hooks in
/// `lesson.rs`, `exercise.rs` and `markdown.rs`.
#[test]
fn prices_are_prose_from_lesson_to_page() {
    use lectern_lesson::{parse_lesson, Block};
    let parse = |body: &str| {
        let parsed = parse_lesson("t", std::path::Path::new("t.md"), &format!("+++\ntitle = \"t\"\n+++\n\n{body}"));
        let messages: Vec<String> = parsed.diagnostics.iter().map(|d| format!("{:?}: {}", d.severity, d.message)).collect();
        (parsed.value, messages)
    };
    for body in [
        "A GPU hour costs NT$90 on campus and NT$120 in the cloud.\n",
        "Prices went from $5/$10.\n",
        "一張顯示卡約 NT$30,000,雲端每小時約 US$2。\n",
        "> [!TIP] NT$90 vs NT$120\n> costs NT$90 on campus and NT$120 in the cloud\n",
        "::: quiz q1\nWhich costs NT$90 on campus and NT$120?\n- [x] NT$90 on campus and NT$120 in the cloud\n- [ ] $x$ and $y$\n:::\n",
        "::: challenge c\n## Budget NT$90 on campus and NT$120\n\n::: step\nWhy?\n\n::: rubric\n- 2: cheap `x`\n:::\n:::\n:::\n",
        "<div>\nNT$90 on campus\n</div>\n\n::: quiz q1\nWhy NT$90 on campus and NT$120?\n- [x] A\n:::\n",
    ] {
        let (lesson, messages) = parse(body);
        assert!(messages.is_empty(), "{body}: {messages:?}");
        for block in &lesson.blocks {
            match block {
                Block::Challenge(c) => assert_eq!(c.title, "Budget NT$90 on campus and NT$120"),
                Block::Markdown(m) => {
                    let html = lectern_site::render::markdown(&m.text);
                    assert!(!html.contains("<math"), "{body}: {html}");
                }
                _ => {}
            }
        }
    }
    let (_, messages) = parse("It costs US$5 for students and US$ 8 for staff.\n");
    assert!(messages.len() == 1 && messages[0].starts_with("Warning: this formula runs across several words"), "{messages:?}");
    let (_, messages) = parse("約 NT$30,000，雲端每小時約 US$ 2\n");
    assert!(messages.len() == 1 && messages[0].starts_with("Warning: this formula holds Chinese"), "{messages:?}");
    let html = lectern_site::render::markdown("NT$90 on campus and NT$120, $a~b$ and $\\operatorname{<b>top</b>k}(x)$.");
    assert!(html.contains("NT$90 on campus and NT$120"), "{html}");
    assert!(html.contains("<mspace width=\"0.333em\" />") && html.contains("&lt;b&gt;top&lt;/b&gt;k"), "{html}");
}

//! A fast path for checking formulas at parse time.
//!
//! pulldown-latex checks a formula by building its whole event stream, which costs
//! more than the Markdown parse of the paragraph around it. The formulas authors write
//! are mostly plain (`softmax\left(\frac{QK^T}{\sqrt{d_k}}\right)V`), so a small
//! recognizer reads them first and only ever answers "surely valid" or "don't know";
//! [`crate::markdown::check_formula`] hands everything it does not know to
//! pulldown-latex, whose verdict and message stay the only ones users see. A property
//! test holds the recognizer to never accepting what pulldown-latex rejects.
//!
//! What it knows: letters, digits, most punctuation, any non-ASCII character that is
//! not white space, `{…}` groups, `^`/`_` scripts (at most one of each, right after
//! their base), the commands listed in `COMMANDS` with their arguments, and
//! `\left D … \right D` with `D` one of `( ) [ ] | / .` — everything else (`\\`, `%`,
//! `&`, `$`, `#`, environments, macros, `\sqrt[n]`, unknown commands) is "don't know".

/// What a known command is, by what it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Nothing: a symbol, an operator, a function name, a space.
    Symbol,
    /// One math argument.
    MathArg,
    /// Two math arguments.
    TwoArgs,
    /// One `{…}` of plain text.
    Text,
    /// `\left`: a delimiter, math, `\right` and a delimiter.
    Left,
}
use Kind::{Left, MathArg, Symbol, Text, TwoArgs};

/// The commands the recognizer knows, sorted by name (for a binary search). None but
/// `left` may start with `left` or `right`: pulldown-latex finds the end of a
/// `\left … \right` group by looking for those letters after a backslash.
const COMMANDS: &[(&str, Kind)] = &[
    ("Delta", Symbol), ("Gamma", Symbol), ("Lambda", Symbol), ("Omega", Symbol), ("Phi", Symbol), ("Pi", Symbol),
    ("Psi", Symbol), ("Sigma", Symbol), ("Theta", Symbol), ("Upsilon", Symbol), ("Xi", Symbol), ("alpha", Symbol),
    ("approx", Symbol), ("arg", Symbol), ("ast", Symbol), ("bar", MathArg), ("beta", Symbol), ("binom", TwoArgs),
    ("boldsymbol", MathArg), ("cap", Symbol), ("cdot", Symbol), ("cdots", Symbol), ("chi", Symbol), ("circ", Symbol),
    ("cos", Symbol), ("cup", Symbol), ("ddot", MathArg), ("ddots", Symbol), ("delta", Symbol), ("det", Symbol),
    ("dfrac", TwoArgs), ("div", Symbol), ("dot", MathArg), ("dots", Symbol), ("downarrow", Symbol), ("ell", Symbol),
    ("epsilon", Symbol), ("equiv", Symbol), ("eta", Symbol), ("exists", Symbol), ("exp", Symbol), ("forall", Symbol),
    ("frac", TwoArgs), ("gamma", Symbol), ("ge", Symbol), ("geq", Symbol), ("gets", Symbol), ("gg", Symbol),
    ("hat", MathArg), ("hbar", Symbol), ("in", Symbol), ("inf", Symbol), ("infty", Symbol), ("int", Symbol),
    ("iota", Symbol), ("kappa", Symbol), ("lambda", Symbol), ("ldots", Symbol), ("le", Symbol), ("left", Left),
    ("leq", Symbol), ("lim", Symbol), ("ll", Symbol), ("ln", Symbol), ("log", Symbol), ("mapsto", Symbol),
    ("mathbb", MathArg), ("mathbf", MathArg), ("mathcal", MathArg), ("mathfrak", MathArg), ("mathit", MathArg),
    ("mathrm", MathArg), ("mathsf", MathArg), ("mathtt", MathArg), ("max", Symbol), ("mid", Symbol), ("min", Symbol),
    ("mp", Symbol), ("mu", Symbol), ("nabla", Symbol), ("ne", Symbol), ("neq", Symbol), ("ni", Symbol),
    ("notin", Symbol), ("nu", Symbol), ("odot", Symbol), ("omega", Symbol), ("operatorname", Text), ("oplus", Symbol),
    ("otimes", Symbol), ("overline", MathArg), ("partial", Symbol), ("phi", Symbol), ("pi", Symbol), ("pm", Symbol),
    ("prime", Symbol), ("prod", Symbol), ("propto", Symbol), ("psi", Symbol), ("qquad", Symbol), ("quad", Symbol),
    ("rho", Symbol), ("setminus", Symbol), ("sigma", Symbol), ("sim", Symbol), ("simeq", Symbol), ("sin", Symbol),
    ("sqrt", MathArg), ("star", Symbol), ("subset", Symbol), ("subseteq", Symbol), ("sum", Symbol), ("sup", Symbol),
    ("supset", Symbol), ("supseteq", Symbol), ("tan", Symbol), ("tau", Symbol), ("text", Text), ("textbf", Text),
    ("textit", Text), ("textrm", Text), ("tfrac", TwoArgs), ("theta", Symbol), ("tilde", MathArg), ("times", Symbol),
    ("to", Symbol), ("top", Symbol), ("underline", MathArg), ("uparrow", Symbol), ("upsilon", Symbol),
    ("varepsilon", Symbol), ("varphi", Symbol), ("varpi", Symbol), ("varrho", Symbol), ("varsigma", Symbol),
    ("vartheta", Symbol), ("vdots", Symbol), ("vec", MathArg), ("vee", Symbol), ("wedge", Symbol),
    ("widehat", MathArg), ("widetilde", MathArg), ("xi", Symbol), ("zeta", Symbol),
];

/// Control symbols (a backslash and one character) that take no argument.
const CONTROL_SYMBOLS: &[u8] = b",;:!";

/// The delimiters `\left` and `\right` take here.
const DELIMITERS: &[u8] = b"()[]|/.";

/// Groups nested deeper than this are left to pulldown-latex.
const MAX_DEPTH: usize = 32;

/// What `name` takes, if the recognizer knows it.
fn kind(name: &str) -> Option<Kind> {
    COMMANDS.binary_search_by(|(n, _)| n.cmp(&name)).ok().map(|i| COMMANDS[i].1)
}

/// True only for formulas the recognizer knows pulldown-latex accepts. False means
/// "don't know", not "invalid".
pub fn surely_valid(tex: &str) -> bool {
    Reader { s: tex, pos: 0 }.formula(End::Input, 0)
}

/// What ends the formula being read.
#[derive(Clone, Copy, PartialEq)]
enum End {
    /// The end of the input.
    Input,
    /// A `}`.
    Brace,
    /// A `\right` and its delimiter.
    Right,
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Skips ASCII white space (other white space is refused where it is met).
    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')) {
            self.pos += 1;
        }
    }

    /// Atoms, each with its scripts, up to `end`.
    fn formula(&mut self, end: End, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        loop {
            self.skip_space();
            match self.peek() {
                None => return end == End::Input,
                Some(b'}') => {
                    self.pos += 1;
                    return end == End::Brace;
                }
                _ => {}
            }
            if self.peek() == Some(b'\\') && self.s[self.pos..].starts_with("\\right") {
                if end != End::Right {
                    return false;
                }
                self.pos += "\\right".len();
                // pulldown-latex reads the closing delimiter right after `\right`: a
                // space before a `.` there is an error.
                return self.delimiter();
            }
            if !self.atom(depth) || !self.scripts(depth) {
                return false;
            }
        }
    }

    /// One of [`DELIMITERS`], right here.
    fn delimiter(&mut self) -> bool {
        let found = self.peek().is_some_and(|b| DELIMITERS.contains(&b));
        self.pos += usize::from(found);
        found
    }

    /// One character, group or command, without its scripts.
    fn atom(&mut self, depth: usize) -> bool {
        let Some(b) = self.peek() else { return false };
        match b {
            b'{' => {
                self.pos += 1;
                self.formula(End::Brace, depth + 1)
            }
            b'\\' => self.command(depth),
            b if b.is_ascii_alphanumeric() || b"+-*/=<>()[]|,.;:!?'".contains(&b) => {
                self.pos += 1;
                true
            }
            b if b.is_ascii() => false,
            _ => self.other_char(),
        }
    }

    /// A non-ASCII character: ordinary, unless it is white space (which pulldown-latex
    /// skips, so it can stand where an argument is missing).
    fn other_char(&mut self) -> bool {
        let Some(c) = self.s[self.pos..].chars().next() else { return false };
        self.pos += c.len_utf8();
        !c.is_whitespace()
    }

    /// After a backslash: a command this recognizer knows, with its arguments.
    fn command(&mut self, depth: usize) -> bool {
        self.pos += 1;
        let rest = &self.s.as_bytes()[self.pos..];
        let len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        if len == 0 {
            let symbol = rest.first().is_some_and(|b| CONTROL_SYMBOLS.contains(b));
            self.pos += usize::from(symbol);
            return symbol;
        }
        let name = &self.s[self.pos..self.pos + len];
        self.pos += len;
        match kind(name) {
            Some(Symbol) => true,
            Some(Left) => {
                self.skip_space();
                self.delimiter() && self.formula(End::Right, depth + 1)
            }
            Some(MathArg) => {
                self.skip_space();
                // `\sqrt[n]{x}`: an optional argument, left to pulldown-latex.
                self.peek() != Some(b'[') && self.argument(depth)
            }
            Some(TwoArgs) => self.argument(depth) && self.argument(depth),
            Some(Text) => self.text_group(),
            None => false,
        }
    }

    /// A command's or script's argument: a group, a letter or digit, or a symbol.
    fn argument(&mut self, depth: usize) -> bool {
        self.skip_space();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.formula(End::Brace, depth + 1)
            }
            Some(b) if b.is_ascii_alphanumeric() => {
                self.pos += 1;
                true
            }
            Some(b'\\') => {
                self.pos += 1;
                let rest = &self.s.as_bytes()[self.pos..];
                let len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
                let known = len > 0 && kind(&self.s[self.pos..self.pos + len]) == Some(Symbol);
                self.pos += len;
                known
            }
            _ => false,
        }
    }

    /// `{plain text}` without backslashes, braces or `%` inside.
    fn text_group(&mut self) -> bool {
        self.skip_space();
        if self.peek() != Some(b'{') {
            return false;
        }
        let body = &self.s.as_bytes()[self.pos + 1..];
        match body.iter().position(|b| matches!(b, b'\\' | b'{' | b'}' | b'%')) {
            Some(i) if body[i] == b'}' => {
                self.pos += i + 2;
                true
            }
            _ => false,
        }
    }

    /// At most one superscript and one subscript after a base; anything more (or a
    /// script after a space after them) is left to pulldown-latex.
    fn scripts(&mut self, depth: usize) -> bool {
        self.skip_space();
        let Some(first @ (b'^' | b'_')) = self.peek() else { return true };
        self.pos += 1;
        if !self.argument(depth) {
            return false;
        }
        if let Some(second @ (b'^' | b'_')) = self.peek() {
            if second == first {
                return false;
            }
            self.pos += 1;
            if !self.argument(depth) {
                return false;
            }
        }
        self.skip_space();
        !matches!(self.peek(), Some(b'^' | b'_'))
    }
}

/// A warning about a formula that parses but is most likely not a formula: one that
/// holds Chinese, Japanese or Korean text outside `\text{}`, or runs across three or
/// more words of prose (words of two letters or more, with nothing but spaces between
/// them) outside `\text{}`. Both are what pulldown-cmark makes of prose between two
/// `$`s, prices above all (`NT$90 on campus and NT$120`), when Pandoc's rule does not
/// keep them apart. `display`: a `$$` formula (no price can make one).
pub fn formula_warning(tex: &str, display: bool) -> Option<String> {
    let hint = if display {
        "words in a formula go in `\\text{…}`"
    } else {
        "if the `$` are prices or currency, write them as `\\$`; words in a formula go in `\\text{…}`"
    };
    let prose = Prose::read(tex);
    if prose.cjk {
        return Some(format!("this formula holds Chinese/Japanese/Korean text outside \\text{{}}: {hint}"));
    }
    prose.words.map(|words| format!("this formula runs across several words of prose (`{words}`): {hint}"))
}

/// What [`formula_warning`] finds in a formula, outside text arguments and commands.
struct Prose<'a> {
    cjk: bool,
    /// The first run of three or more words of prose, as written.
    words: Option<&'a str>,
}

impl<'a> Prose<'a> {
    fn read(tex: &'a str) -> Self {
        let letter = |c: char| c.is_alphabetic() && !is_cjk(c);
        // The first run of three or more words: where it starts and ends.
        let mut first_run: Option<(usize, usize)> = None;
        // The run of words being read: where it starts, how many words of two letters or
        // more it has so far; and whether white space (only) has come since its last word.
        let mut run: Option<(usize, usize)> = None;
        let mut spaced = false;
        let mut i = 0;
        while let Some(c) = tex[i..].chars().next() {
            if c == '\\' {
                run = None;
                i = skip_command(tex, i);
                continue;
            }
            if is_cjk(c) {
                return Prose { cjk: true, words: None };
            }
            if letter(c) {
                let start = i;
                let len = tex[i..].chars().take_while(|&c| letter(c)).count();
                i += tex[i..].chars().take(len).map(char::len_utf8).sum::<usize>();
                run = match run {
                    _ if len < 2 => None,
                    Some((first, n)) if spaced => Some((first, n + 1)),
                    _ => Some((start, 1)),
                };
                spaced = false;
                if let Some((first, n)) = run
                    && n >= 3
                    && first_run.is_none_or(|(f, _)| f == first)
                {
                    first_run = Some((first, i));
                }
                continue;
            }
            if c.is_whitespace() {
                spaced = true;
            } else {
                run = None;
            }
            i += c.len_utf8();
        }
        Prose { cjk: false, words: first_run.map(|(first, end)| &tex[first..end]) }
    }
}

/// After the backslash at `at`: past the command, and past its text arguments when it
/// takes text (`\text{…}`, `\operatorname{…}`, …).
fn skip_command(tex: &str, at: usize) -> usize {
    let bytes = tex.as_bytes();
    let mut i = at + 1;
    let name_len = bytes[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if name_len == 0 {
        // A control symbol: `\,`, `\{`, `\ `, `\$` …
        return i + tex[i..].chars().next().map_or(0, char::len_utf8);
    }
    let name = &tex[i..i + name_len];
    i += name_len;
    let groups = match name {
        "text" | "textrm" | "textbf" | "textit" | "textsf" | "texttt" | "textnormal" | "textup" | "textmd" | "mbox"
        | "hbox" | "operatorname" | "mathop" => 1,
        "colorbox" => 2,
        "fcolorbox" => 3,
        _ => return i,
    };
    if bytes.get(i) == Some(&b'*') {
        i += 1;
    }
    for _ in 0..groups {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'{') {
            // A one-character argument, or none.
            return i + tex[i..].chars().next().map_or(0, char::len_utf8);
        }
        let mut depth = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    i.min(tex.len())
}

/// Chinese, Japanese or Korean script, or their punctuation and full-width forms.
fn is_cjk(c: char) -> bool {
    crate::cjk::is_letter(c) || crate::cjk::is_punctuation(c) || matches!(c as u32, 0xFF00..=0xFFEF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markdown::check_formula_fully as full;

    #[test]
    fn cjk_outside_text_is_warned_about() {
        for f in ["30,000,雲端每小時約 US", "注意力(x) = 1", "x，y", "a + かな", "한국어", "\\frac{成本}{2}"] {
            let w = formula_warning(f, false).unwrap_or_else(|| panic!("{f}: no warning"));
            assert!(w.starts_with("this formula holds Chinese/Japanese/Korean text outside \\text{}"), "{w}");
            assert!(w.contains("write them as `\\$`"), "{w}");
        }
        let w = formula_warning("注意力(x)", true).expect("display");
        assert!(!w.contains("prices"), "{w}");
        for f in ["\\text{注意力}(x) = 1", "\\textbf{成本} + \\operatorname{損失}(x)", "\\text{a{b}注意}", "\\colorbox{red}{紅}", "x^2"] {
            assert_eq!(formula_warning(f, false), None, "{f}");
        }
    }

    #[test]
    fn prose_between_dollars_is_warned_about() {
        let w = formula_warning("90 on campus and NT", false).expect("prose");
        assert!(w.starts_with("this formula runs across several words of prose (`on campus and NT`)"), "{w}");
        assert!(w.contains("write them as `\\$`"), "{w}");
        let w = formula_warning("x \\in the set of all reals, y", false).expect("prose");
        assert!(w.contains("(`the set of all reals`)"), "{w}");
        for f in [
            // Words with single letters, operators or commands between them are math.
            "Attention(Q, K, V) = softmax\\left(\\frac{QK^T}{\\sqrt{d_k}}\\right)V",
            "\\text{score} = \\operatorname{max}\\left(0, \\frac{p}{c}(r - w)\\right)",
            "\\text{if } x > 0 \\text{ and for all } y",
            "\\operatorname{arg max over all} x",
            "\\sin x \\cos y \\tan z",
            "ab + cd + ef",
            "f(x) = ax + b",
            "sum of x and y",
            "two words",
            "a b c d e",
            "",
            "\\",
            "\\text{",
            "\\operatorname",
        ] {
            assert_eq!(formula_warning(f, false), None, "{f}");
        }
    }

    #[test]
    fn author_formulas_are_recognized() {
        for f in [
            r"Attention(Q, K, V) = softmax\left(\frac{QK^T}{\sqrt{d_k}}\right)V",
            r"\operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V",
            r"2 \times 32 \times 8 \times 128 \times 2",
            r"\text{score} = \operatorname{max}\left(0, \frac{p}{c}(r - w)\right)",
            r"a_{i}^{2}",
            r"x_i * y_i",
            r"\sum_{i=1}^{n} x_i^2 \leq \alpha",
            r"\mathbf{W}_Q \in \mathbb{R}^{d \times d_k}",
            r"\left.\frac{\partial L}{\partial w}\right|",
            "注意力(x) = 1",
        ] {
            assert!(surely_valid(f), "{f}");
            assert_eq!(full(f), Ok(()), "{f}");
        }
    }

    #[test]
    fn every_listed_command_is_what_the_list_says() {
        assert!(COMMANDS.windows(2).all(|w| w[0].0 < w[1].0), "COMMANDS must be sorted, without repeats");
        for &(name, kind) in COMMANDS {
            assert!(name == "left" || !(name.starts_with("left") || name.starts_with("right")), "{name}");
            let formulas = match kind {
                Symbol => vec![format!("\\{name}"), format!("x^\\{name}"), format!("\\{name}_1^2 x"), format!("\\{name} {{}}")],
                MathArg | Text => vec![format!("\\{name}{{x}}"), format!("\\{name} {{ab}}^2")],
                TwoArgs => vec![format!("\\{name}{{a}}{{b}}"), format!("\\{name} 1 2"), format!("\\{name}{{a}}\\alpha_3")],
                Left => vec![format!("\\{name}(x\\right)"), format!("\\{name}. x \\right|^2")],
            };
            for f in formulas {
                assert!(surely_valid(&f), "{f}");
                assert_eq!(full(&f), Ok(()), "{f}");
            }
        }
        for &symbol in CONTROL_SYMBOLS {
            let f = format!("a\\{}b", char::from(symbol));
            assert!(surely_valid(&f), "{f}");
            assert_eq!(full(&f), Ok(()), "{f}");
        }
    }

    #[test]
    fn doubtful_formulas_are_left_to_pulldown_latex() {
        for f in [
            r"\frac{QK^T}{\sqrt{d_k}",
            r"\foo{x}",
            r"a^^b",
            r"a^b^c",
            r"a_b_c",
            r"a^",
            r"{",
            r"}",
            r"\right)",
            r"\left(",
            r"\left( a \right .",
            r"\left( \leftarrow \right)",
            r"a \\ b",
            r"50\%",
            r"a & b",
            r"\text{a}b}",
            r"x^{}} ",
            "a^\u{3000}",
            r"\sqrt[3]{x}",
            r"\begin{cases} x \end{cases}",
            r"^2",
        ] {
            assert!(!surely_valid(f), "{f}");
        }
    }

    /// Formulas built from the recognizer's pieces and from pieces it must refuse, cut
    /// and spliced: whatever it calls valid, pulldown-latex must accept.
    #[test]
    fn the_recognizer_never_disagrees_with_pulldown_latex() {
        const PIECES: &[&str] = &[
            "a", "x", "Q", "K", "2", "12", "1.5", " ", "  ", "\n", "\t", "+", "-", "=", "(", ")", "[", "]", "|", "/", ",",
            ".", "'", "!", "?", ":", ";", "*", "<", ">", "^", "_", "^", "_", "{", "}", "{", "}", "\\frac", "\\frac{a}{b}",
            "\\sqrt", "\\sqrt{x}", "\\sqrt[", "\\left(", "\\right)", "\\left.", "\\right.", "\\left[", "\\right]",
            "\\left", "\\right", "\\left|", "\\right|", "\\left/", "\\right ", " .", "\\text{", "\\text{if }", "\\text",
            "\\operatorname{", "\\operatorname{softmax}", "\\mathrm{", "\\mathbb", "\\hat", "\\alpha", "\\cdot", "\\times",
            "\\sum", "\\lim", "\\limits", "\\leftarrow", "\\rightarrow", "\\Rightarrow", "\\,", "\\!", "\\;", "\\ ", "\\\\",
            "\\{", "\\}", "\\", "%", "&", "#", "$", "~", "\"", "`", "@", "é", "注", "\u{3000}", "\u{a0}", "\\foo", "\\dots",
            "\\begin{cases}", "\\end{cases}", "\\def\\x{y}", "\\x", "\\color{red}", "\\displaystyle", "\\bf", "\\not",
            "\\prime", "\\in", "\\int", "\\sin", "\\mathbf{W}", "\\binom", "\\dfrac", "\\overline", "\\textbf{b}",
        ];
        const SEEDS: &[&str] = &[
            r"Attention(Q, K, V) = softmax\left(\frac{QK^T}{\sqrt{d_k}}\right)V",
            r"\text{score} = \operatorname{max}\left(0, \frac{p}{c}(r - w)\right)",
            r"\sum_{i=1}^{n} x_i^2 \leq \alpha \cdot \mathbb{R}^{d \times d_k}",
            r"\left.\frac{\partial L}{\partial w}\right|_{w=0} + \hat{y}_t'",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut recognized, mut total) = (0usize, 0usize);
        let mut check = |f: &str| {
            total += 1;
            // The warnings read any formula without panicking.
            let _ = formula_warning(f, false);
            if surely_valid(f) {
                recognized += 1;
                assert_eq!(full(f), Ok(()), "the recognizer accepted `{f}`");
            }
        };
        for _ in 0..60_000 {
            // Pieces at random.
            let len = (next() % 10) as usize;
            let f: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            check(&f);
            // A seed with a few pieces inserted, cut out or swapped in.
            let mut f = SEEDS[(next() % SEEDS.len() as u64) as usize].to_string();
            for _ in 0..=next() % 3 {
                let mut at = (next() % (f.len() as u64 + 1)) as usize;
                while !f.is_char_boundary(at) {
                    at -= 1;
                }
                match next() % 3 {
                    0 => f.insert_str(at, PIECES[(next() % PIECES.len() as u64) as usize]),
                    1 => {
                        let mut end = (at + (next() % 6) as usize).min(f.len());
                        while !f.is_char_boundary(end) {
                            end += 1;
                        }
                        f.replace_range(at..end, "");
                    }
                    _ => {
                        let mut end = (at + 1).min(f.len());
                        while !f.is_char_boundary(end) {
                            end += 1;
                        }
                        f.replace_range(at..end, PIECES[(next() % PIECES.len() as u64) as usize]);
                    }
                }
            }
            check(&f);
        }
        assert!(recognized > total / 10, "the recognizer is rarely exercised ({recognized} of {total})");
    }
}

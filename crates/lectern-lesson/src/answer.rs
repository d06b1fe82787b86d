//! The answer contract: how an answer is read and judged, defined once.
//!
//! The grader (`lectern grade`) calls these functions; the page's practice check
//! (`lectern.js`) is given their data at build time — the folding table
//! ([`FOLDS`]), the number grammar ([`NUMBER_PATTERN`]) and each quiz's key with its
//! patterns translated for the browser by [`js_regex`] and its numeric range computed
//! here ([`PageKey`]) — and only interprets that data. A differential test
//! (`tests/cli/contract.rs`) runs the built page's Check in Chromium and `lectern grade`
//! on the same generated answers and requires the same verdicts.
//!
//! This module knows nothing of HTML, JavaScript files, TOML files or the grader's
//! results: it reads answers as text and keys as the model holds them.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::model::{Accept, ChoicePolicy, QuizAnswer, Tolerance};

/// One row of the typographic folding table: every character of `from` becomes `to`
/// (an empty `to` removes it). Applied after NFKC and lower-casing, to answers and to
/// accepted phrases alike.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Fold {
    /// What the guide calls the row.
    pub name: &'static str,
    pub from: &'static [char],
    pub to: &'static str,
}

/// The typographic folding table (the guide prints it: `03-quizzes.md`).
///
/// NFKC already folds full-width forms (`Ａ`, `１`, `－`, `＂`), ligatures and the
/// no-break and ideographic spaces; this table adds what NFKC leaves apart. Every
/// Unicode White_Space character is listed, so that the page and the grader agree on
/// what a space is (JavaScript's `\s` and Rust's `char::is_whitespace` differ on
/// U+0085 and U+FEFF).
pub const FOLDS: &[Fold] = &[
    Fold {
        name: "apostrophes, single quotes and backticks",
        from: &['\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}', '\u{2032}', '\u{2035}', '\u{02BC}', '\u{02BB}', '\u{02B9}', '`'],
        to: "'",
    },
    Fold {
        name: "double quotes",
        from: &['\u{201C}', '\u{201D}', '\u{201E}', '\u{201F}', '\u{00AB}', '\u{00BB}', '\u{300C}', '\u{300D}', '\u{300E}', '\u{300F}', '\u{301D}', '\u{301E}'],
        to: "\"",
    },
    Fold {
        name: "hyphens, en dashes and minus signs",
        from: &['\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2043}', '\u{2212}'],
        to: "-",
    },
    Fold {
        // `the encoder is not the bottleneck—cross-attention is`: an em dash joins
        // clauses, not the parts of a word, and a negation must not reach across it.
        name: "em dashes and horizontal bars (a break between clauses)",
        from: &['\u{2014}', '\u{2015}', '\u{2E3A}', '\u{2E3B}'],
        to: " ; ",
    },
    Fold {
        name: "spaces (every Unicode White_Space character)",
        from: &[
            '\t', '\n', '\u{000B}', '\u{000C}', '\r', '\u{0085}', '\u{00A0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}',
            '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200A}', '\u{2028}', '\u{2029}', '\u{202F}', '\u{205F}', '\u{3000}',
        ],
        to: " ",
    },
    Fold {
        name: "invisible characters (zero-width spaces and joiners, word joiner, byte-order mark, soft hyphen)",
        from: &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}'],
        to: "",
    },
    Fold {
        // JavaScript lower-cases a word-final capital sigma to `ς`, Rust to `σ`.
        name: "Greek final sigma",
        from: &['\u{03C2}'],
        to: "\u{03C3}",
    },
];

fn folded(c: char) -> Option<&'static str> {
    FOLDS.iter().find(|f| f.from.contains(&c)).map(|f| f.to)
}

/// The form in which answers, accepted phrases and units are compared: Unicode NFKC,
/// lower case, the [`FOLDS`] table, runs of spaces as one, trimmed.
///
/// `fold("  Don’t\u{a0}STOP ")` is `"don't stop"`; `fold("ｄｅｃｏｄｅｒ‑only")` is
/// `"decoder-only"`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    let mut push = |s: &str, out: &mut String| {
        for c in s.chars() {
            if c == ' ' {
                space = !out.is_empty();
            } else {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
            }
        }
    };
    let mut buf = [0u8; 4];
    for c in text.nfkc().flat_map(char::to_lowercase) {
        match folded(c) {
            Some(to) => push(to, &mut out),
            None => push(c.encode_utf8(&mut buf), &mut out),
        }
    }
    out
}

/// The grammar of a numeric answer, applied to the [`fold`]ed text: a sign, digits
/// (thousands grouped by `,` or by a space, in groups of three), a decimal point and
/// fraction, an exponent (`e`), then the unit with or without a space. The same
/// pattern runs in the grader (Rust's `regex`) and in the page (JavaScript's `RegExp`
/// with the `u` flag); both give the same captures, since it only uses what the two
/// engines define alike (leftmost-first alternation, greedy counted repetition).
pub const NUMBER_PATTERN: &str = r"^(?<sign>[+-]?)(?<int>[1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]{0,2}(?: [0-9]{3})+|[0-9]*)(?:\.(?<frac>[0-9]*))?(?:e(?<exp>[+-]?[0-9]+))?(?: ?(?<unit>[^0-9 .,+-].*))?$";

/// A digit followed by a superscript digit in the answer as written (`10³`): NFKC
/// would read it as `103`, so such an answer is not read at all. Checked on the answer
/// before folding, by the grader and the page alike.
pub const SUPERSCRIPT_PATTERN: &str = r"[0-9\u{FF10}-\u{FF19}][\u{B2}\u{B3}\u{B9}\u{2070}-\u{2079}]";

/// Why a numeric answer was not read as a number.
#[derive(Debug, Clone, PartialEq)]
pub enum NumberError {
    /// Nothing but spaces.
    Empty,
    /// The text does not follow [`NUMBER_PATTERN`]: `1,5`, `1.000,5`, `about 3`.
    Unreadable { text: String },
    /// A number followed by something that is not the quiz's unit; `expected` is `None`
    /// for a quiz without a unit.
    WrongUnit { found: String, expected: Option<String> },
    /// Too large for a 64-bit float (`1e400`).
    NotFinite,
}

impl std::fmt::Display for NumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumberError::Empty => write!(f, "the answer is empty"),
            NumberError::Unreadable { text } => {
                write!(f, "`{text}` cannot be read as a number (write it as 1000, 1,000, 1 000, 1.5 or 1.5e3, then the unit if any)")
            }
            NumberError::WrongUnit { found, expected: Some(unit) } => write!(f, "the unit `{found}` is not the quiz's unit `{unit}`"),
            NumberError::WrongUnit { found, expected: None } => write!(f, "this quiz asks for a plain number, without a unit (found `{found}`)"),
            NumberError::NotFinite => write!(f, "the number is too large to be read"),
        }
    }
}

fn number_regex() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(NUMBER_PATTERN).unwrap_or_else(|e| unreachable!("NUMBER_PATTERN is valid: {e}")))
}

/// Reads a numeric answer by [`NUMBER_PATTERN`]: `"1,000 MiB"`, `"1000MiB"`,
/// `"１０００"`, `"1 000"`, `"−1.5e3"`. `unit` is the quiz's unit (compared folded; a
/// number without a unit is always accepted as written in it).
pub fn parse_number(text: &str, unit: Option<&str>) -> Result<f64, NumberError> {
    let t = fold(text);
    if t.is_empty() {
        return Err(NumberError::Empty);
    }
    let unreadable = || NumberError::Unreadable { text: text.trim().chars().take(80).collect() };
    static SUPERSCRIPT: OnceLock<regex::Regex> = OnceLock::new();
    let superscript = SUPERSCRIPT.get_or_init(|| regex::Regex::new(SUPERSCRIPT_PATTERN).unwrap_or_else(|e| unreachable!("SUPERSCRIPT_PATTERN is valid: {e}")));
    if superscript.is_match(text) {
        return Err(unreadable());
    }
    let caps = number_regex().captures(&t).ok_or_else(unreadable)?;
    let part = |name: &str| caps.name(name).map_or("", |m| m.as_str());
    let (int, frac) = (part("int").replace([',', ' '], ""), part("frac"));
    if int.is_empty() && frac.is_empty() {
        return Err(unreadable());
    }
    let found = part("unit");
    if !found.is_empty() {
        match unit {
            Some(u) if fold(u) == found => {}
            _ => return Err(NumberError::WrongUnit { found: found.to_owned(), expected: unit.map(str::to_owned) }),
        }
    }
    let digits = format!("{}{}.{}e{}", part("sign"), if int.is_empty() { "0" } else { &int }, if frac.is_empty() { "0" } else { frac }, if part("exp").is_empty() { "0" } else { part("exp") });
    let value: f64 = digits.parse().map_err(|_| unreadable())?;
    if value.is_finite() { Ok(value) } else { Err(NumberError::NotFinite) }
}

/// The closed interval of accepted values of a numeric quiz: the answer ± its
/// tolerance (absolute, or relative to |answer|), widened by 1e-9 × max(|answer|, 1)
/// so that a decimal answer written exactly on the boundary is not lost to rounding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NumericRange {
    pub low: f64,
    pub high: f64,
}

impl NumericRange {
    pub fn of(answer: f64, tolerance: Tolerance) -> NumericRange {
        let allowed = match tolerance {
            Tolerance::Absolute(t) => t,
            Tolerance::Relative(r) => r * answer.abs(),
        } + 1e-9 * answer.abs().max(1.0);
        NumericRange { low: answer - allowed, high: answer + allowed }
    }

    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The option letters a choice answer names: `"B"`, `["A", "C"]`, `"A, C"`, in either
/// case and in full-width forms (`"Ｂ"`); sorted, without repeats.
pub fn choice_letters(parts: &[&str]) -> Result<Vec<char>, String> {
    let mut out = Vec::new();
    for s in parts {
        for part in fold(s).split([',', ' ']).filter(|p| !p.is_empty()) {
            let mut chars = part.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_alphabetic() => {
                    let c = c.to_ascii_uppercase();
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
                _ => return Err(format!("`{part}` is not an option letter")),
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The share of a choice quiz's points that `chosen` earns under `policy`: 1 when
/// exactly the correct options are chosen; otherwise 0, or for multiple choice under
/// right-minus-wrong max(0, (right − wrong) / correct). More than one option for a
/// single-choice quiz earns 0.
pub fn choice_share(correct: &[char], chosen: &[char], policy: ChoicePolicy) -> f64 {
    let multiple = correct.len() > 1;
    let right = chosen.iter().filter(|c| correct.contains(c)).count();
    let wrong = chosen.len() - right;
    if !multiple && chosen.len() > 1 || correct.is_empty() {
        return 0.0;
    }
    if right == correct.len() && wrong == 0 {
        return 1.0;
    }
    match policy {
        ChoicePolicy::RightMinusWrong if multiple => ((right as f64 - wrong as f64) / correct.len() as f64).max(0.0),
        _ => 0.0,
    }
}

/// A quiz's key as the page's practice check receives it, computed here so that the
/// page only compares: folded phrases, patterns translated by [`js_regex`], the
/// numeric range and folded unit, the correct letters and the policy in force.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PageKey {
    Choice { correct: Vec<char>, policy: ChoicePolicy },
    Numeric { range: NumericRange, unit: Option<String> },
    Text { phrases: Vec<String>, patterns: Vec<String> },
}

impl PageKey {
    /// The page's key for `answer`; `default_policy` is the course's multiple-choice
    /// policy. An error names a pattern the browser cannot run exactly as the grader
    /// does (the page then offers no Check for the quiz).
    pub fn of(answer: &QuizAnswer, default_policy: ChoicePolicy) -> Result<PageKey, String> {
        Ok(match answer {
            QuizAnswer::Choice { options, policy } => {
                PageKey::Choice { correct: options.iter().filter(|o| o.correct).map(|o| o.letter).collect(), policy: policy.unwrap_or(default_policy) }
            }
            QuizAnswer::Numeric { answer, tolerance, unit } => PageKey::Numeric { range: NumericRange::of(*answer, *tolerance), unit: unit.as_deref().map(fold) },
            QuizAnswer::Text { accept } => {
                let mut phrases = Vec::new();
                let mut patterns = Vec::new();
                for a in accept {
                    match a {
                        Accept::Phrase(p) => phrases.push(fold(p)),
                        Accept::Regex(r) => patterns.push(js_regex(r)?),
                    }
                }
                PageKey::Text { phrases, patterns }
            }
        })
    }
}

/// How much memory one compiled pattern may take (regex's compiled-program limit).
pub const PATTERN_SIZE_LIMIT: usize = 1 << 24;

/// Compiles an accepted pattern as the grader matches it: case-insensitive, within
/// [`PATTERN_SIZE_LIMIT`]. `check` calls it too, so a pattern the grader cannot run is
/// an error in the lesson, never a silent zero (`^\w{1,1000}$`, whose Unicode classes
/// repeated a thousand times exceed the limit).
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern).case_insensitive(true).size_limit(PATTERN_SIZE_LIMIT).build().map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => format!("it compiles to more than {} MiB; use a smaller repetition count or an ASCII class such as `[a-z0-9_]` for `\\w`", limit >> 20),
        other => other.to_string(),
    })
}

/// The rules the page's script needs besides each quiz's key, as one JSON object.
#[derive(Debug, Serialize)]
pub struct PageRules {
    pub folds: Vec<(String, &'static str)>,
    pub number: &'static str,
    pub superscript: &'static str,
}

/// [`PageRules`] for this build of Lectern.
pub fn page_rules() -> PageRules {
    PageRules { folds: FOLDS.iter().map(|f| (f.from.iter().collect(), f.to)).collect(), number: NUMBER_PATTERN, superscript: SUPERSCRIPT_PATTERN }
}

/// Translates a pattern as the grader compiles it (Rust `regex` syntax, matched case
/// insensitively) into JavaScript `RegExp` source for the `u` flag with the same
/// matches: parsed by regex-syntax, case folding and Unicode classes (`\w`, `\d`, `.`)
/// expanded to explicit ranges, and word boundaries written as look-arounds over
/// Rust's Unicode word class. The error names a construct with no exact JavaScript
/// form (byte classes, CRLF-aware anchors).
pub fn js_regex(pattern: &str) -> Result<String, String> {
    use regex_syntax::ParserBuilder;
    let hir = ParserBuilder::new().case_insensitive(true).build().parse(pattern).map_err(|e| e.to_string())?;
    let mut out = String::new();
    write_js(&hir, &mut out)?;
    Ok(out)
}

fn word_class() -> &'static str {
    static WORD: OnceLock<String> = OnceLock::new();
    WORD.get_or_init(|| {
        let hir = regex_syntax::Parser::new().parse(r"\w").unwrap_or_else(|e| unreachable!("\\w parses: {e}"));
        let mut out = String::new();
        write_js(&hir, &mut out).unwrap_or_else(|e| unreachable!("\\w translates: {e}"));
        out
    })
}

fn js_char(c: char, out: &mut String) {
    if c.is_ascii_alphanumeric() || c == '_' {
        out.push(c);
    } else {
        out.push_str(&format!("\\u{{{:X}}}", c as u32));
    }
}

fn write_js(hir: &regex_syntax::hir::Hir, out: &mut String) -> Result<(), String> {
    use regex_syntax::hir::{Class, HirKind, Look};
    match hir.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).map_err(|_| "a byte literal that is not UTF-8".to_owned())?;
            out.push_str("(?:");
            text.chars().for_each(|c| js_char(c, out));
            out.push(')');
        }
        HirKind::Class(Class::Unicode(class)) => {
            out.push('[');
            for r in class.iter() {
                js_char(r.start(), out);
                if r.end() != r.start() {
                    out.push('-');
                    js_char(r.end(), out);
                }
            }
            out.push(']');
        }
        HirKind::Class(Class::Bytes(_)) => return Err("a byte class (`(?-u)`) has no JavaScript form".into()),
        HirKind::Look(look) => {
            let w = word_class();
            let s = match look {
                Look::Start => "^".to_owned(),
                Look::End => "$".to_owned(),
                Look::StartLF => r"(?<=^|\n)".to_owned(),
                Look::EndLF => r"(?=$|\n)".to_owned(),
                Look::WordAscii => r"\b".to_owned(),
                Look::WordAsciiNegate => r"\B".to_owned(),
                Look::WordUnicode => format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"),
                Look::WordUnicodeNegate => format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))"),
                Look::WordStartUnicode => format!("(?:(?<!{w})(?={w}))"),
                Look::WordEndUnicode => format!("(?:(?<={w})(?!{w}))"),
                Look::WordStartHalfUnicode => format!("(?<!{w})"),
                Look::WordEndHalfUnicode => format!("(?!{w})"),
                other => return Err(format!("the assertion {other:?} has no JavaScript form")),
            };
            out.push_str(&s);
        }
        HirKind::Repetition(rep) => {
            out.push_str("(?:");
            write_js(&rep.sub, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (min, None) => out.push_str(&format!("{{{min},}}")),
                (min, Some(max)) if min == max => out.push_str(&format!("{{{min}}}")),
                (min, Some(max)) => out.push_str(&format!("{{{min},{max}}}")),
            }
            if !rep.greedy {
                out.push('?');
            }
        }
        HirKind::Capture(cap) => {
            out.push_str("(?:");
            write_js(&cap.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(parts) => {
            out.push_str("(?:");
            for p in parts {
                write_js(p, out)?;
            }
            out.push(')');
        }
        HirKind::Alternation(parts) => {
            out.push_str("(?:");
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_js(p, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// A typed `answers.toml`, the hand-in file the page writes and the grader reads
/// (SPEC §5): the student's ID and, per lesson, quiz answers and challenge step answers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswersFile {
    /// Empty when no ID was typed: the hand-in folder's name stands.
    #[serde(default)]
    pub student: String,
    #[serde(default)]
    pub lessons: std::collections::BTreeMap<String, LessonAnswers>,
}

/// One lesson's answers in `answers.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonAnswers {
    /// Quiz ID → answer.
    #[serde(default)]
    pub quiz: std::collections::BTreeMap<String, QuizValue>,
    /// Challenge ID → step ID → the step's text.
    #[serde(default)]
    pub challenge: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// A quiz answer as `answers.toml` holds it: option letters (`"B"` or `["A", "C"]`),
/// a number, or text (also a numeric answer as typed, unit and all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QuizValue {
    Number(f64),
    Text(String),
    Letters(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_by_the_one_grammar() {
        let ok = |t: &str, u: Option<&str>| parse_number(t, u).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(ok("1000 MiB", Some("MiB")), 1000.0);
        assert_eq!(ok("1000MiB", Some("MiB")), 1000.0);
        assert_eq!(ok("１０００", Some("MiB")), 1000.0);
        assert_eq!(ok("1,000", Some("MiB")), 1000.0);
        assert_eq!(ok("1 000", Some("MiB")), 1000.0);
        assert_eq!(ok("1\u{202f}000\u{a0}mib", Some("MiB")), 1000.0);
        assert_eq!(ok("−1.5e3", None), -1500.0);
        assert_eq!(ok(".5", None), 0.5);
        assert_eq!(ok("5.", None), 5.0);
        assert_eq!(ok("1,234,567.25", None), 1_234_567.25);
        assert_eq!(ok("50%", Some("%")), 50.0);
        assert_eq!(ok("3em", Some("em")), 3.0);
        assert!(matches!(parse_number("1,5", None), Err(NumberError::Unreadable { .. })));
        assert!(matches!(parse_number("1,0000", None), Err(NumberError::Unreadable { .. })));
        assert!(matches!(parse_number("1000 000", None), Err(NumberError::Unreadable { .. })));
        assert!(matches!(parse_number("about 3", None), Err(NumberError::Unreadable { .. })));
        assert!(matches!(parse_number("-", None), Err(NumberError::Unreadable { .. })));
        assert!(matches!(parse_number("  ", None), Err(NumberError::Empty)));
        assert!(matches!(parse_number("1e400", None), Err(NumberError::NotFinite)));
        assert_eq!(parse_number("1000 KB", Some("MiB")), Err(NumberError::WrongUnit { found: "kb".into(), expected: Some("MiB".into()) }));
        assert_eq!(parse_number("1000 MiB", None), Err(NumberError::WrongUnit { found: "mib".into(), expected: None }));
        // Never a made-up unit: what follows the digits is a unit only when it starts
        // with something other than a digit, a space, a point, a comma or a sign.
        assert_eq!(ok("5 cm³", Some("cm³")), 5.0);
        assert_eq!(ok("5cm3", Some("cm³")), 5.0);
        for text in ["1,000,00", "1 000 00", "10..5", "1.2.3", "+-1", "0,001", "01,000", "10³", "2²"] {
            assert!(matches!(parse_number(text, Some("MiB")), Err(NumberError::Unreadable { .. })), "{text}");
        }
    }

    #[test]
    fn every_row_of_the_folding_table_folds() {
        for f in FOLDS {
            for c in f.from {
                let text = format!("a{c}b");
                let want = if f.to == " " { "a b".to_owned() } else { format!("a{}b", f.to.trim()).replace(";", " ; ") };
                assert_eq!(fold(&text), want, "{} U+{:04X}", f.name, *c as u32);
            }
        }
        assert_eq!(fold("don’t"), fold("don't"));
        assert_eq!(fold("don‘t"), "don't");
        assert_eq!(fold("don`t"), "don't");
        assert_eq!(fold("decoder‐only"), "decoder-only");
        assert_eq!(fold("decoder‑only"), "decoder-only");
        assert_eq!(fold("decoder–only"), "decoder-only");
        assert_eq!(fold("ＫＶ　Ｃａｃｈｅ"), "kv cache");
        assert_eq!(fold("  Decoder-Only "), "decoder-only");
        assert_eq!(fold("KV\tcache\n\n grows"), "kv cache grows");
        assert_eq!(fold("kv\u{200b}cache"), "kvcache");
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
        assert_eq!(fold("僅解碼器"), "僅解碼器");
        assert_eq!(fold(""), "");
        // Every White_Space character is a row: the page's and the grader's idea of a
        // space are one list.
        for c in (0..=0x10FFFF).filter_map(char::from_u32).filter(|c| c.is_whitespace() && *c != ' ') {
            assert!(folded(c) == Some(" "), "U+{:04X} is White_Space but not in the table", c as u32);
        }
    }

    #[test]
    fn choice_letters_and_shares() {
        assert_eq!(choice_letters(&["a, c"]), Ok(vec!['A', 'C']));
        assert_eq!(choice_letters(&["Ｃ", "a", "A"]), Ok(vec!['A', 'C']));
        assert!(choice_letters(&["AB"]).is_err());
        assert_eq!(choice_share(&['A'], &['A'], ChoicePolicy::AllOrNothing), 1.0);
        assert_eq!(choice_share(&['A'], &['A', 'B'], ChoicePolicy::RightMinusWrong), 0.0);
        assert_eq!(choice_share(&['A', 'C'], &['A'], ChoicePolicy::AllOrNothing), 0.0);
        assert_eq!(choice_share(&['A', 'C'], &['A'], ChoicePolicy::RightMinusWrong), 0.5);
        assert_eq!(choice_share(&['A', 'C'], &['A', 'B'], ChoicePolicy::RightMinusWrong), 0.0);
        assert_eq!(choice_share(&['A', 'C'], &['A', 'B', 'C'], ChoicePolicy::RightMinusWrong), 0.5);
    }

    #[test]
    fn ranges_include_their_decimal_boundaries() {
        let r = NumericRange::of(0.3, Tolerance::Absolute(0.1));
        assert!(r.contains(0.2) && r.contains(0.4) && !r.contains(0.41));
        let r = NumericRange::of(1000.0, Tolerance::Relative(0.05));
        assert!(r.contains(950.0) && r.contains(1050.0) && !r.contains(1050.1));
    }

    #[test]
    fn patterns_translate_to_javascript() {
        assert_eq!(js_regex("ab").as_deref(), Ok("(?:[Aa][Bb])"));
        assert!(js_regex(r"\bkv\b").is_ok_and(|s| s.contains("(?<=")));
        assert!(js_regex(r"(?-u:\xFF)").is_err());
    }
}

#[cfg(test)]
mod guide {
    use super::FOLDS;

    /// The folding table as the guide prints it (courses/guide/lessons/03-quizzes.md).
    fn table() -> String {
        let mut out = String::from("| Characters | Become |\n|---|---|\n");
        for f in FOLDS {
            let chars: Vec<String> = f
                .from
                .iter()
                .map(|c| if c.is_whitespace() || c.is_control() || matches!(*c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}') { format!("U+{:04X}", *c as u32) } else if *c == '`' { "`` ` `` U+0060".to_owned() } else { format!("{c} U+{:04X}", *c as u32) })
                .collect();
            let to = match f.to {
                "" => "nothing (removed)".to_owned(),
                " " => "a space".to_owned(),
                " ; " => "a clause break, as `;`".to_owned(),
                other => format!("`{other}`"),
            };
            out.push_str(&format!("| {}: {} | {to} |\n", f.name, chars.join(", ")));
        }
        out
    }

    #[test]
    fn the_guide_prints_the_folding_table_as_the_code_has_it() {
        let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../courses/guide/lessons/03-quizzes.md")).unwrap_or_default();
        let table = table();
        assert!(guide.contains(&table), "courses/guide/lessons/03-quizzes.md must print the folding table as the code has it:\n\n{table}");
    }
}

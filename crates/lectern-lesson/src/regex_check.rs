//! Checking the regular expressions of rubrics and text quizzes at parse time.
//!
//! A full parse by regex-syntax costs more than the Markdown parse of the whole rubric,
//! so the plain patterns authors write (`/encod(er|ing)/`, `/kv[- ]?cach/`) go through
//! a small recognizer that only ever answers "surely valid" or "don't know"; anything
//! it does not know goes to regex-syntax. A property test holds the recognizer to that.

/// `Ok` when `pattern` is a valid regular expression; the reason otherwise.
pub fn check(pattern: &str) -> Result<(), String> {
    if surely_valid(pattern) {
        return Ok(());
    }
    // The syntax tree catches nearly every mistake; only Unicode class names (`\p{…}`)
    // need the full translation.
    if pattern.contains("\\p") || pattern.contains("\\P") {
        regex_syntax::Parser::new().parse(pattern).map(drop).map_err(|e| e.to_string())
    } else {
        regex_syntax::ast::parse::Parser::new().parse(pattern).map(drop).map_err(|e| e.to_string())
    }
}

/// True only for patterns built from literals, `.`, simple escapes, simple classes,
/// groups, `|` and single quantifiers. False means "don't know", not "invalid".
pub fn surely_valid(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    let mut depth = 0usize;
    // Whether the previous token can take a quantifier.
    let mut atom = false;
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                if matches!(chars.peek(), Some('?' | ')')) {
                    return false;
                }
                depth += 1;
                atom = false;
            }
            ')' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
                atom = true;
            }
            '|' => atom = false,
            '?' | '*' | '+' => {
                if !atom {
                    return false;
                }
                if chars.peek() == Some(&'?') {
                    chars.next();
                }
                if matches!(chars.peek(), Some('?' | '*' | '+' | '{')) {
                    return false;
                }
                atom = false;
            }
            '.' => atom = true,
            '\\' => {
                if !matches!(chars.next(), Some(e) if is_simple_escape(e)) {
                    return false;
                }
                atom = true;
            }
            '[' => {
                if !simple_class(&mut chars) {
                    return false;
                }
                atom = true;
            }
            c if c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | ',' | ':' | '_' | '/' | '"' | '!' | '%' | '=') => {
                atom = true;
            }
            _ => return false,
        }
    }
    depth == 0
}

fn is_simple_escape(e: char) -> bool {
    matches!(e, 'b' | 'B' | 'd' | 'D' | 'w' | 'W' | 's' | 'S')
        || matches!(e, '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '\\' | '-')
}

/// After `[`: `^`? then literals, `a-z` ranges and simple escapes, up to `]`.
fn simple_class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    if chars.peek() == Some(&'^') {
        chars.next();
    }
    let mut items = 0usize;
    // The last literal, which may start a range.
    let mut last: Option<char> = None;
    loop {
        let Some(c) = chars.next() else { return false };
        match c {
            ']' => return items > 0,
            '[' | '&' | '~' => return false,
            '\\' => {
                if !matches!(chars.next(), Some('d' | 'w' | 's' | '.' | '-' | ']' | '\\')) {
                    return false;
                }
                last = None;
            }
            '-' => {
                let Some(lo) = last.take() else {
                    // A leading `-` is a literal; so is a trailing one.
                    if items > 0 && chars.peek() != Some(&']') {
                        return false;
                    }
                    items += 1;
                    continue;
                };
                match chars.peek().copied() {
                    Some(']') => {}
                    Some(hi) if hi.is_alphanumeric() && hi >= lo => {
                        chars.next();
                    }
                    _ => return false,
                }
            }
            c if c.is_alphanumeric() || matches!(c, ' ' | '.' | '_' | '\'' | ',' | ':' | '/') => last = Some(c),
            _ => return false,
        }
        items += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_author_patterns_are_recognized() {
        for p in ["encod(er|ing)", "kv[- ]?cach", "flash[- ]?attention", "zero[- ]?shot", "without[^.]*fine-?tun", "交叉注意力|cross"] {
            assert!(surely_valid(p), "{p}");
        }
    }

    #[test]
    fn invalid_patterns_are_never_called_valid() {
        for p in ["(", "a)", "*a", "[z-a]", "[a", "a{2", "(?<", "[]", "a|*", "\\q"] {
            assert!(!surely_valid(p), "{p}");
            assert!(check(p).is_err(), "{p}");
        }
    }

    /// Random patterns over the recognizer's alphabet: whatever it calls valid,
    /// regex-syntax must parse.
    #[test]
    fn the_recognizer_never_disagrees_with_regex_syntax() {
        const ALPHABET: &[char] =
            &['a', 'z', '9', '字', ' ', '-', '(', ')', '|', '?', '*', '+', '.', '\\', 'd', 'b', '[', ']', '^', '$', '{', '}', ':', '&', '~'];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut recognized = 0;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 9) as usize;
            let mut s = state;
            let pattern: String = (0..len)
                .map(|_| {
                    s = s.rotate_left(5).wrapping_mul(0x2545_F491_4F6C_DD1D);
                    ALPHABET[(s >> 33) as usize % ALPHABET.len()]
                })
                .collect();
            if surely_valid(&pattern) {
                recognized += 1;
                assert!(regex_syntax::Parser::new().parse(&pattern).is_ok(), "recognizer accepted invalid `{pattern}`");
            }
        }
        assert!(recognized > 1000, "the recognizer is never exercised ({recognized})");
    }
}

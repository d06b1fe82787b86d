//! Checking the regular expressions of rubrics and text quizzes at parse time.
//!
//! A full parse by regex-syntax costs more than the Markdown parse of the whole rubric,
//! so the plain patterns authors write (`/encod(er|ing)/`, `/kv[- ]?cach/`) go through
//! a small recognizer that only ever answers "surely valid" or "don't know"; anything
//! it does not know goes to regex-syntax. A property test holds the recognizer to that.

/// `Ok` when `pattern` is a valid regular expression that cannot match an empty answer;
/// the reason otherwise. (A pattern that matches the empty string, like `//` or
/// `/(negative)?/`, matches every answer: as a rubric phrase it would give everyone the
/// points.)
pub fn check(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("an empty pattern matches every answer".into());
    }
    let nullable = match recognize(pattern) {
        Some(nullable) => nullable,
        None => {
            let hir = regex_syntax::Parser::new().parse(pattern).map_err(|e| e.to_string())?;
            hir.properties().minimum_len() == Some(0)
        }
    };
    if nullable {
        return Err("it can match an empty string, so it would match every answer".into());
    }
    Ok(())
}

/// True only for patterns built from literals, `.`, simple escapes, simple classes,
/// groups, `|` and single quantifiers. False means "don't know", not "invalid".
pub fn surely_valid(pattern: &str) -> bool {
    recognize(pattern).is_some()
}

/// `Some(can match the empty string)` for a pattern the recognizer knows is valid;
/// `None` for "don't know".
fn recognize(pattern: &str) -> Option<bool> {
    let mut chars = pattern.chars().peekable();
    let nullable = alternation(&mut chars, 0)?;
    chars.peek().is_none().then_some(nullable)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// `seq | seq | …` up to a `)` (left unread) or the end.
fn alternation(chars: &mut Chars<'_>, depth: usize) -> Option<bool> {
    let mut nullable = sequence(chars, depth)?;
    while chars.peek() == Some(&'|') {
        chars.next();
        nullable |= sequence(chars, depth)?;
    }
    Some(nullable)
}

/// Quantified atoms up to `|`, `)` or the end. Nullable when every atom is.
fn sequence(chars: &mut Chars<'_>, depth: usize) -> Option<bool> {
    let mut nullable = true;
    loop {
        let atom_nullable = match chars.peek().copied() {
            None | Some('|' | ')') => return Some(nullable),
            Some('(') => {
                chars.next();
                if matches!(chars.peek(), Some('?' | ')')) {
                    return None;
                }
                let inner = alternation(chars, depth + 1)?;
                if chars.next() != Some(')') {
                    return None;
                }
                inner
            }
            Some('.') => {
                chars.next();
                false
            }
            Some('\\') => {
                chars.next();
                let e = chars.next()?;
                if !is_simple_escape(e) {
                    return None;
                }
                // `\b` and `\B` match no character.
                matches!(e, 'b' | 'B')
            }
            Some('[') => {
                chars.next();
                if !simple_class(chars) {
                    return None;
                }
                false
            }
            Some(c) if c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | ',' | ':' | '_' | '/' | '"' | '!' | '%' | '=') => {
                chars.next();
                false
            }
            _ => return None,
        };
        let mut atom_nullable = atom_nullable;
        if let Some(&q) = chars.peek() {
            if matches!(q, '?' | '*' | '+') {
                chars.next();
                if chars.peek() == Some(&'?') {
                    chars.next();
                }
                if matches!(chars.peek(), Some('?' | '*' | '+' | '{')) {
                    return None;
                }
                atom_nullable |= q != '+';
            } else if q == '{' {
                return None;
            }
        }
        nullable &= atom_nullable;
    }
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
    fn patterns_that_match_the_empty_string_are_refused() {
        for p in ["", "(negative)?", "a*", "(a|)", "\\b", "x?y*"] {
            assert!(check(p).is_err(), "{p:?}");
        }
        for p in ["a+", "kv[- ]?cach", "(a|b)c?", "\\bx"] {
            assert!(check(p).is_ok(), "{p:?}");
        }
        // The slow path says the same as the recognizer.
        assert!(check("(?i)a*").is_err());
        assert!(check("(?i)ab").is_ok());
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
            if let Some(nullable) = recognize(&pattern) {
                recognized += 1;
                let hir = regex_syntax::Parser::new().parse(&pattern);
                let hir = hir.unwrap_or_else(|e| panic!("recognizer accepted invalid `{pattern}`: {e}"));
                assert_eq!(nullable, hir.properties().minimum_len() == Some(0), "nullable of `{pattern}`");
            }
        }
        assert!(recognized > 1000, "the recognizer is never exercised ({recognized})");
    }
}

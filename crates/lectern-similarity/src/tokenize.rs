//! Python source → a sequence of syntax-tree tokens, normalised so that what a copier
//! changes cheaply (names, literals, comments, docstrings, layout, redundant brackets)
//! is invisible.
//!
//! Source of the method: Dolos (Maertens et al., "Dolos: language-agnostic plagiarism
//! detection in source code", J. Computer Assisted Learning 38(4), 2022) tokenises with
//! tree-sitter and emits one token per syntax-tree node, in pre-order, named by the node's
//! kind, so that the token stream carries the program's structure and none of its names.

use tree_sitter::{Node, Parser};

use crate::error::SimilarityError;

/// Sources longer than this many bytes (1 MiB) are cut at the last character boundary
/// before it; the result says so ([`Tokens::truncated`]). No hand-in to a course
/// exercise is that long; a hostile one must not cost unbounded time or memory.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// Syntax-tree depth below which the walk does not descend (the node itself still
/// gives its token). CPython's own parser refuses nesting beyond 200 levels, so only a
/// hostile or generated source gets here; [`Tokens::depth_limited`] says so.
pub const MAX_TREE_DEPTH: usize = 1_000;

/// The longest one source may take to parse (2 s). Some inputs make tree-sitter-python's
/// external scanner quadratic (a file of nothing but `\` line continuations: 64 KiB took
/// 16 s, 1 MiB over an hour); a hostile hand-in must not hold up a whole class. A source
/// that runs out gives no tokens and says so ([`Tokens::stopped`]).
pub const PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// One token: a syntax-tree node's kind, and the lines it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The tree-sitter node kind after normalisation: `"identifier"` for every name,
    /// `"string"`, `"integer"`, `"float"` for every literal of that kind, `"def"`, `"+"`,
    /// `"for_statement"`, `"ERROR"` (a part that does not parse), ….
    pub kind: &'static str,
    /// First source line of the node, 1-based.
    pub start_line: u32,
    /// Last source line of the token's own text, 1-based: for a leaf (a name, a literal,
    /// an operator or keyword) where it ends, so a multi-line string covers its lines; for
    /// an inner node (a statement, a call) its first line, since its body is represented by
    /// the tokens after it.
    pub end_line: u32,
}

/// The tokens of one source, with what was cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// In source order (pre-order of the syntax tree).
    pub tokens: Vec<Token>,
    /// The source was longer than [`MAX_SOURCE_BYTES`] and only its head was tokenised.
    pub truncated: bool,
    /// Some subtree was deeper than [`MAX_TREE_DEPTH`] and its inside was not tokenised.
    pub depth_limited: bool,
    /// Parsing ran past [`PARSE_BUDGET`] and was stopped: no tokens.
    pub stopped: bool,
}

/// A reusable Python tokeniser (one tree-sitter parser; not `Sync`: one per thread).
pub struct PythonTokenizer {
    parser: Parser,
}

impl std::fmt::Debug for PythonTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonTokenizer").finish_non_exhaustive()
    }
}

impl PythonTokenizer {
    /// A parser for the Python grammar.
    ///
    /// Errors: [`SimilarityError::Grammar`] if the tree-sitter runtime and the grammar
    /// crate disagree on the ABI version (a build problem).
    pub fn new() -> Result<Self, SimilarityError> {
        let mut parser = Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into())?;
        Ok(PythonTokenizer { parser })
    }

    /// Tokenises `source` (see the module docs for what is normalised away).
    ///
    /// Never fails on bad input: tree-sitter recovers from syntax errors, and what does not
    /// parse becomes `ERROR` tokens with the tokens of its parsed parts inside; sources over
    /// [`MAX_SOURCE_BYTES`] are cut. Time and memory are linear in the source's length (the
    /// walk uses tree-sitter's cursor, never recursion, so 10,000 nested brackets are fine).
    ///
    /// Errors: [`SimilarityError::ParseAborted`] if tree-sitter returns no tree (only on a
    /// cancelled parse, which is never requested).
    pub fn tokenize(&mut self, source: &str) -> Result<Tokens, SimilarityError> {
        let (source, truncated) = cut(source, MAX_SOURCE_BYTES);
        // Reset: a parse never resumes from another source's partial state.
        self.parser.reset();
        let started = std::time::Instant::now();
        let mut over_budget = |_: &tree_sitter::ParseState| {
            if started.elapsed() > PARSE_BUDGET { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) }
        };
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut over_budget);
        let bytes = source.as_bytes();
        let parsed = self.parser.parse_with_options(&mut |at: usize, _: tree_sitter::Point| bytes.get(at..).unwrap_or_default(), None, Some(options));
        let Some(tree) = parsed else {
            if started.elapsed() > PARSE_BUDGET {
                self.parser.reset();
                return Ok(Tokens { tokens: Vec::new(), truncated, depth_limited: false, stopped: true });
            }
            return Err(SimilarityError::ParseAborted);
        };
        let mut out = Tokens { tokens: Vec::with_capacity(source.len() / 3), truncated, depth_limited: false, stopped: false };
        let mut cursor = tree.walk();
        let mut depth = 0usize;
        loop {
            let node = cursor.node();
            let descend = visit(node, &mut out.tokens);
            if descend {
                if depth < MAX_TREE_DEPTH {
                    if cursor.goto_first_child() {
                        depth += 1;
                        continue;
                    }
                } else if node.child_count() > 0 {
                    out.depth_limited = true;
                }
            }
            // Next sibling, or climb until a parent has one; done at the root.
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return Ok(out);
                }
                depth -= 1;
            }
        }
    }
}

/// Tokenises one Python source with a fresh parser; see [`PythonTokenizer::tokenize`].
pub fn tokenize_python(source: &str) -> Result<Tokens, SimilarityError> {
    PythonTokenizer::new()?.tokenize(source)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary,
/// and whether it is shorter than `s`.
pub(crate) fn cut(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// Kinds whose text is a literal value: one token, whatever the value (an f-string's
/// interpolated code included: it is rarely where copying shows).
const LITERALS: [&str; 4] = ["string", "concatenated_string", "integer", "float"];

/// Emits `node`'s token, if any, and says whether its children are to be walked.
fn visit(node: Node<'_>, tokens: &mut Vec<Token>) -> bool {
    // Zero-width nodes tree-sitter inserts to recover (a missing `)`) were never typed.
    if node.is_missing() {
        return false;
    }
    let kind = node.kind();
    match kind {
        // Layout and comments.
        "comment" | "line_continuation" => false,
        // Re-bracketing: `(a + b) * c` and `a + b` around the same expression look alike.
        "parenthesized_expression" => true,
        "(" | ")" if !node.is_named() => false,
        // A docstring, or any statement that is only a string: no effect on the program.
        "expression_statement" if is_bare_string(node) => false,
        _ => {
            let start_line = line(node.start_position().row);
            let leaf = node.child_count() == 0 || LITERALS.contains(&kind);
            let end_line = if leaf { line(node.end_position().row) } else { start_line };
            tokens.push(Token { kind, start_line, end_line });
            !LITERALS.contains(&kind)
        }
    }
}

/// An expression statement made of one string (possibly bracketed or concatenated).
fn is_bare_string(statement: Node<'_>) -> bool {
    if statement.named_child_count() != 1 {
        return false;
    }
    let mut node = statement.named_child(0);
    while let Some(n) = node {
        match n.kind() {
            "string" | "concatenated_string" => return true,
            "parenthesized_expression" if n.named_child_count() == 1 => node = n.named_child(0),
            _ => return false,
        }
    }
    false
}

/// A tree-sitter row (0-based) as a 1-based line number, saturating.
fn line(row: usize) -> u32 {
    u32::try_from(row.saturating_add(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<&'static str> {
        tokenize_python(src).expect("tokenizes").tokens.iter().map(|t| t.kind).collect()
    }

    #[test]
    fn names_and_literals_are_kinds() {
        let a = kinds("total = count + 1\nprint('hi', 2.5)\n");
        let b = kinds("s = n + 99\nprint(\"other\", 1e3)\n");
        assert_eq!(a, b);
        assert!(a.contains(&"identifier") && a.contains(&"integer") && a.contains(&"string"));
        assert!(!a.contains(&"("), "{a:?}");
    }

    #[test]
    fn comments_docstrings_and_brackets_vanish() {
        let plain = kinds("def f(x):\n    return x * (x + 1)\n");
        let noisy = kinds(
            "def f(x):  # square-ish\n    \"\"\"Docstring\n    over lines.\"\"\"\n\n    # c\n    return (x) * ((x + 1))\n",
        );
        assert_eq!(plain, noisy);
    }

    #[test]
    fn lines_are_one_based() {
        let t = tokenize_python("x = 1\n\ny = '''a\nb'''\n").expect("tokenizes").tokens;
        let s = t.iter().find(|t| t.kind == "string").expect("a string token");
        assert_eq!((s.start_line, s.end_line), (3, 4));
        let stmt = t.iter().find(|t| t.kind == "expression_statement").expect("a statement");
        assert_eq!((stmt.start_line, stmt.end_line), (1, 1));
    }

    #[test]
    fn syntax_errors_still_tokenize() {
        let t = tokenize_python("def f(x:\n    return x +\nprint(f(2)\n").expect("tokenizes");
        assert!(t.tokens.len() > 5, "{:?}", t.tokens);
        assert!(t.tokens.iter().any(|t| t.kind == "ERROR"), "{:?}", t.tokens);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        for (open, close) in [("(", ")"), ("[", "]")] {
            let src = format!("x = {}1{}\n", open.repeat(10_000), close.repeat(10_000));
            let t = tokenize_python(&src).expect("tokenizes");
            assert!(!t.tokens.is_empty());
        }
        // Unbalanced, too.
        let t = tokenize_python(&"[".repeat(10_000)).expect("tokenizes");
        assert!(!t.tokens.is_empty());
    }

    #[test]
    fn a_source_that_parses_for_too_long_is_stopped_not_waited_for() {
        // Nothing but line continuations: quadratic in tree-sitter-python's scanner
        // (1 MiB took over an hour). Stopped at the budget, with no tokens.
        let started = std::time::Instant::now();
        let t = tokenize_python(&"\\\n".repeat(MAX_SOURCE_BYTES / 2)).expect("tokenizes");
        assert!(t.stopped && t.tokens.is_empty(), "{} tokens", t.tokens.len());
        assert!(started.elapsed() < PARSE_BUDGET * 3, "{:?}", started.elapsed());
        // The same tokenizer goes on with the next source.
        let mut tokenizer = PythonTokenizer::new().expect("grammar");
        assert!(tokenizer.tokenize(&"\\\n".repeat(MAX_SOURCE_BYTES / 2)).expect("tokenizes").stopped);
        let next = tokenizer.tokenize("x = 1\n").expect("tokenizes");
        assert!(!next.stopped && !next.tokens.is_empty());
    }

    #[test]
    fn long_sources_are_cut() {
        let src = "x = 1\n".repeat(MAX_SOURCE_BYTES / 6 + 10);
        let t = tokenize_python(&src).expect("tokenizes");
        assert!(t.truncated);
        let (head, cut_) = cut("aé", 2);
        assert_eq!((head, cut_), ("a", true));
    }
}

//! Similarity between hand-ins of one class: copied code and copied free-text answers,
//! in the manner of Dolos, MOSS and JPlag.
//!
//! Plain strings in, scores and fragments out:
//!
//! - [`compare_code`]: Python sources (and the exercise's starter code) → every pair of
//!   hand-ins sharing code, scored ([`CodePair::over_smaller`], [`CodePair::over_both`])
//!   with the matching line ranges on both sides. Syntax-tree tokens (names, literals,
//!   comments, docstrings, layout and redundant brackets are invisible) and winnowed
//!   k-gram fingerprints.
//! - [`compare_text`]: free-text answers in any script → pairs by the Jaccard similarity
//!   of character shingles, found through MinHash and LSH banding, with the shared
//!   passages as byte ranges of the original strings.
//! - [`clusters`]: groups of hand-ins linked by the pairs a caller keeps.
//!
//! What it must never know: courses, lessons, gradebooks, students or their names, HTML
//! or any page, and how hand-ins are stored. A hand-in is an index into the slice given;
//! mapping indices to people and showing the fragments is the caller's business. It
//! depends on no other Lectern crate.
//!
//! What it is for: review. A high score says that two hand-ins share more structure than
//! usual and where; it is not a verdict of plagiarism. Short exercises converge on the
//! same code, students may work together where allowed, and starter code or a shared
//! hint looks like copying. A person reads the fragments and decides.
//!
//! ```
//! use lectern_similarity::{CodeConfig, TextConfig, clusters, compare_code, compare_text};
//!
//! let a = "def area(r):\n    return 3.14 * r * r\n\nprint(area(2))\n";
//! let b = "def size(radius):  # mine\n    return (3.1416 * radius) * radius\n\nprint(size(5))\n";
//! let c = "for i in range(10):\n    if i % 2:\n        print(i)\n";
//! let config = CodeConfig { k: 5, window: 4, ..CodeConfig::default() };
//! let code = compare_code(None, &[a, b, c], &config)?;
//! assert_eq!((code.pairs[0].a, code.pairs[0].b, code.pairs[0].over_both), (0, 1, 1.0));
//! let fragment = &code.pairs[0].fragments[0];
//! assert_eq!((fragment.a_lines, fragment.b_lines), ((1, 4), (1, 4)));
//!
//! let text = compare_text(
//!     &["注意力的成本隨序列長度平方增長,所以長上下文很貴。", "注意力的成本隨序列長度平方增長;所以,長上下文很貴!", "ok"],
//!     &TextConfig::default(),
//! )?;
//! assert_eq!((text.pairs[0].a, text.pairs[0].b, text.pairs[0].jaccard), (0, 1, 1.0));
//! assert_eq!(text.skipped, [2]);
//!
//! let groups = clusters(3, code.pairs.iter().filter(|p| p.over_both >= 0.5).map(|p| (p.a, p.b)));
//! assert_eq!(groups, [vec![0, 1]]);
//! # Ok::<(), lectern_similarity::SimilarityError>(())
//! ```
//!
//! Everything is deterministic: the same inputs give the same output on every machine,
//! run and core count (stable hashes, never `RandomState`; sorted output).

mod cluster;
pub mod code;
mod error;
mod hash;
pub mod text;
pub mod tokenize;
pub mod winnow;

pub use cluster::clusters;
pub use code::{CodeComparison, CodeConfig, CodePair, Fragment, compare_code};
pub use error::SimilarityError;
pub use text::{TextComparison, TextConfig, TextPair, compare_text};
pub use tokenize::{MAX_SOURCE_BYTES, MAX_TREE_DEPTH, PythonTokenizer, Token, Tokens, tokenize_python};

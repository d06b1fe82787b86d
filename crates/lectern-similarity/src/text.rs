//! Copied free-text answers (challenge steps, short essays) in any script.
//!
//! Answers are normalised (NFKC, lower case, only letters and digits), cut into character
//! shingles (Broder, "On the resemblance and containment of documents", SEQUENCES 1997),
//! summarised by MinHash signatures (Broder 1997; Broder, Charikar, Frieze and
//! Mitzenmacher, "Min-wise independent permutations", STOC 1998), and banded for
//! locality-sensitive hashing (Leskovec, Rajaraman and Ullman, *Mining of Massive
//! Datasets*, chapter 3, "Finding similar items", §3.4): only answers agreeing on a whole
//! band become candidates, so a class is never compared pair by pair. Candidates are then
//! scored by the exact Jaccard similarity of their shingle sets.
//!
//! Characters, not words, are shingled: Chinese and Japanese have no spaces, and
//! character shingles also survive a changed inflection.

use std::collections::HashSet;
use std::ops::Range;

use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

use crate::error::{SimilarityError, check};
use crate::hash::{StableBuild, mix64, splitmix};
use crate::tokenize::{MAX_SOURCE_BYTES, cut};

/// The MinHash seeds' seed: fixed, so signatures are the same on every run.
const SEED: u64 = 0x6c65_6374_6572_6e21; // "lectern!"

/// Settings of [`compare_text`]. [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    /// Shingle length, in normalised characters (default 5). Five letters are about one
    /// English word or two to three Chinese words: long enough that two unrelated answers
    /// on one topic share few, short enough that reordered sentences still share most.
    pub shingle: usize,
    /// Answers with fewer normalised characters than this (or than `shingle`) are skipped
    /// (default 20): "It is slow." says too little to be evidence of copying.
    pub min_chars: usize,
    /// LSH bands (default 32).
    pub bands: usize,
    /// MinHash rows per band (default 4); the signature has `bands × rows` values (128).
    /// A pair of Jaccard similarity `s` becomes a candidate with probability
    /// `1 − (1 − s^rows)^bands` (MMDS §3.4.2): with 32 × 4 that is 0.87 at 0.5, 0.99 at 0.6
    /// and 0.9999 at 0.75, and 0.05 at 0.2, so unrelated answers are rarely compared.
    pub rows: usize,
    /// Candidates whose exact Jaccard similarity is below this are not reported (default
    /// 0.5). In [0, 1]. Floors well below 0.5 also need more bands (fewer rows) to find
    /// their pairs.
    pub min_jaccard: f64,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig { shingle: 5, min_chars: 20, bands: 32, rows: 4, min_jaccard: 0.5 }
    }
}

impl TextConfig {
    /// Checks every field's range. Errors: [`SimilarityError::InvalidConfig`].
    pub fn validate(&self) -> Result<(), SimilarityError> {
        check(self.shingle >= 1, "shingle", self.shingle, "at least 1")?;
        check(self.bands >= 1, "bands", self.bands, "at least 1")?;
        check((1..=64).contains(&self.rows), "rows", self.rows, "1 to 64")?;
        check(self.bands * self.rows <= 4096, "bands", self.bands, "bands × rows at most 4096")?;
        check((0.0..=1.0).contains(&self.min_jaccard), "min_jaccard", self.min_jaccard, "a fraction in [0, 1]")
    }
}

/// Two answers that look copied.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPair {
    /// Index of the first answer in `texts`; `a < b`.
    pub a: usize,
    /// Index of the second answer.
    pub b: usize,
    /// Exact Jaccard similarity of the two sets of distinct shingles, in [0, 1].
    pub jaccard: f64,
    /// Byte ranges of answer `a` (in the string given, on character boundaries) covered
    /// by shingles that `b` has too; sorted, disjoint, not touching.
    pub a_spans: Vec<Range<usize>>,
    /// The same for answer `b`.
    pub b_spans: Vec<Range<usize>>,
}

/// The result of [`compare_text`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextComparison {
    /// Pairs at or above `min_jaccard`, sorted by `jaccard` descending, then `(a, b)`.
    pub pairs: Vec<TextPair>,
    /// Answers too short to compare (see [`TextConfig::min_chars`]), ascending.
    pub skipped: Vec<usize>,
    /// Answers over [`MAX_SOURCE_BYTES`] (1 MiB): only their head was compared.
    pub truncated: Vec<usize>,
    /// Candidate pairs the banding produced (each scored exactly).
    pub candidates: usize,
}

/// One answer, normalised and shingled.
struct Answer {
    /// For each normalised character, the byte range of the original it came from.
    origin: Vec<Range<usize>>,
    /// The hash of the shingle starting at each normalised position.
    shingles: Vec<u64>,
    /// Distinct shingle hashes, sorted.
    set: Vec<u64>,
}

/// Finds pairs of similar answers among `texts` (one answer per hand-in, any script).
///
/// Cost: linear in the total length times `bands × rows` for signatures, plus the
/// candidate pairs (near-linear unless many answers are alike, when the pairs are the
/// output). Runs on all cores; the result does not depend on their number.
///
/// Errors: [`SimilarityError::InvalidConfig`] for a bad `config`. No text makes it fail.
pub fn compare_text(texts: &[&str], config: &TextConfig) -> Result<TextComparison, SimilarityError> {
    config.validate()?;
    let perms = config.bands * config.rows;
    let seeds: Vec<u64> = (0..perms as u64).map(|i| splitmix(SEED, i)).collect();

    let answers: Vec<(Option<Answer>, bool)> = texts
        .par_iter()
        .map(|text| {
            let (text, truncated) = cut(text, MAX_SOURCE_BYTES);
            let (chars, origin) = normalise(text);
            if chars.len() < config.shingle.max(config.min_chars) {
                return (None, truncated);
            }
            let shingles: Vec<u64> = chars.windows(config.shingle).map(shingle_hash).collect();
            let mut set = shingles.clone();
            set.sort_unstable();
            set.dedup();
            (Some(Answer { origin, shingles, set }), truncated)
        })
        .collect();
    let mut out = TextComparison {
        skipped: (0..texts.len()).filter(|&i| answers[i].0.is_none()).collect(),
        truncated: (0..texts.len()).filter(|&i| answers[i].1).collect(),
        ..TextComparison::default()
    };

    // Band keys: (key, answer), one per band of every answer's signature.
    let mut keys: Vec<(u64, u32)> = answers
        .par_iter()
        .enumerate()
        .filter_map(|(i, (a, _))| a.as_ref().map(|a| (i, a)))
        .flat_map_iter(|(i, a)| {
            let signature = minhash(&a.set, &seeds);
            let rows = config.rows;
            (0..config.bands)
                .map(|band| {
                    let key = signature[band * rows..(band + 1) * rows]
                        .iter()
                        .fold(mix64(band as u64 + 1), |h, &v| mix64(h ^ v));
                    (key, i as u32)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    keys.par_sort_unstable();
    let mut candidates: HashSet<(u32, u32), StableBuild> = HashSet::default();
    for bucket in keys.chunk_by(|x, y| x.0 == y.0) {
        for (x, &(_, a)) in bucket.iter().enumerate() {
            for &(_, b) in &bucket[x + 1..] {
                candidates.insert((a.min(b), a.max(b)));
            }
        }
    }
    drop(keys);
    let mut candidates: Vec<(u32, u32)> = candidates.into_iter().collect();
    candidates.sort_unstable();
    out.candidates = candidates.len();

    out.pairs = candidates
        .into_par_iter()
        .filter_map(|(a, b)| {
            let (x, y) = (answers[a as usize].0.as_ref()?, answers[b as usize].0.as_ref()?);
            let shared = intersection(&x.set, &y.set);
            let jaccard = shared as f64 / (x.set.len() + y.set.len() - shared) as f64;
            (jaccard >= config.min_jaccard).then(|| TextPair {
                a: a as usize,
                b: b as usize,
                jaccard,
                a_spans: spans(x, &y.set, config.shingle),
                b_spans: spans(y, &x.set, config.shingle),
            })
        })
        .collect();
    out.pairs.sort_by(|x, y| y.jaccard.total_cmp(&x.jaccard).then((x.a, x.b).cmp(&(y.a, y.b))));
    Ok(out)
}

/// The normalised characters of `text` (NFKC, lower case, letters and digits of every
/// script), each with the byte range of `text` it comes from.
///
/// NFKC is applied per segment: a character of canonical combining class 0 and the
/// combining marks after it (plus Hangul medial and final jamo, which compose with the
/// initial before them), so every output character maps back to whole characters of
/// the input.
pub fn normalise(text: &str) -> (Vec<char>, Vec<Range<usize>>) {
    let mut chars = Vec::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    let mut segment = 0;
    let flush = |range: Range<usize>, chars: &mut Vec<char>, origin: &mut Vec<Range<usize>>| {
        for c in text[range.clone()].nfkc().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                chars.push(c);
                origin.push(range.clone());
            }
        }
    };
    for (i, c) in text.char_indices() {
        let continues = canonical_combining_class(c) != 0 || ('\u{1160}'..='\u{11FF}').contains(&c);
        if i > segment && !continues {
            flush(segment..i, &mut chars, &mut origin);
            segment = i;
        }
    }
    if segment < text.len() {
        flush(segment..text.len(), &mut chars, &mut origin);
    }
    (chars, origin)
}

/// A stable 64-bit hash of a run of characters.
fn shingle_hash(chars: &[char]) -> u64 {
    chars.iter().fold(0x243f_6a88_85a3_08d3, |h, &c| mix64(h ^ u64::from(c)))
}

/// The MinHash signature of a non-empty set: for each seed, the least `mix64(x ^ seed)`.
fn minhash(set: &[u64], seeds: &[u64]) -> Vec<u64> {
    let mut signature = vec![u64::MAX; seeds.len()];
    for &x in set {
        for (s, &seed) in signature.iter_mut().zip(seeds) {
            *s = (*s).min(mix64(x ^ seed));
        }
    }
    signature
}

/// Size of the intersection of two sorted, deduplicated slices.
fn intersection(x: &[u64], y: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Byte ranges of `answer` covered by its shingles that are in `other` (sorted hashes):
/// each maximal run of such shingles, from its first character's start to its last
/// character's end; ranges that overlap or touch are merged.
fn spans(answer: &Answer, other: &[u64], n: usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut run: Option<usize> = None;
    let shared: Vec<bool> = answer.shingles.iter().map(|h| other.binary_search(h).is_ok()).collect();
    for p in 0..=shared.len() {
        match (run, shared.get(p).copied().unwrap_or(false)) {
            (None, true) => run = Some(p),
            (Some(first), false) => {
                let range = answer.origin[first].start..answer.origin[p - 1 + n - 1].end;
                match out.last_mut() {
                    Some(last) if last.end >= range.start => last.end = last.end.max(range.end),
                    _ => out.push(range),
                }
                run = None;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_keeps_letters_and_digits_of_every_script() {
        let (chars, origin) = normalise("Ｈｅｌｌｏ, World! 編碼器 ２");
        assert_eq!(chars.iter().collect::<String>(), "helloworld編碼器2");
        let text = "Ｈｅｌｌｏ, World! 編碼器 ２";
        assert_eq!(&text[origin[0].clone()], "Ｈ");
        assert_eq!(&text[origin[10].clone()], "編");
        // A combining accent composes with its letter and maps back to both.
        let (chars, origin) = normalise("cafe\u{301}!");
        assert_eq!(chars, ['c', 'a', 'f', 'é']);
        assert_eq!(origin[3], 3..6);
    }

    const ZH: &str = "編碼器必須處理整個長輸入,解碼器每一步都要做交叉注意力,所以長上下文的成本很高。";
    const ZH_REPUNCTUATED: &str = "編碼器必須處理整個長輸入。解碼器每一步、都要做交叉注意力!所以 長上下文的成本很高";
    const EN: &str = "A decoder-only model keeps the prompt and the output in a single stack, and the KV cache makes long contexts cheap.";
    const EN_OTHER: &str =
        "Tokenisers split text into subword units; rare words become several pieces, common ones stay whole.";

    #[test]
    fn same_chinese_answer_with_other_punctuation_scores_one() {
        let got = compare_text(&[ZH, EN, ZH_REPUNCTUATED], &TextConfig::default()).expect("compares");
        assert_eq!(got.pairs.len(), 1, "{got:?}");
        let pair = &got.pairs[0];
        assert_eq!((pair.a, pair.b, pair.jaccard), (0, 2, 1.0));
        // The whole answer is highlighted, from its first letter to its last.
        assert_eq!(pair.a_spans, vec![0..ZH.len() - "。".len()]);
        assert_eq!(pair.b_spans, vec![0..ZH_REPUNCTUATED.len()]);
    }

    #[test]
    fn unrelated_answers_make_no_pair() {
        let got = compare_text(&[EN, EN_OTHER, ZH], &TextConfig::default()).expect("compares");
        assert!(got.pairs.is_empty(), "{got:?}");
        assert!(got.skipped.is_empty());
    }

    #[test]
    fn short_answers_are_skipped() {
        let got =
            compare_text(&["It is slow.", "It is slow!", EN, "", "快。"], &TextConfig::default()).expect("compares");
        assert_eq!(got.skipped, [0, 1, 3, 4]);
        assert!(got.pairs.is_empty());
    }

    #[test]
    fn spans_are_on_char_boundaries_and_cover_the_shared_part() {
        let own = "Ｍｙ ｏｗｎ ｗｏｒｄｓ ｆｉｒｓｔ — ";
        let a = format!("{own}{EN} 然後是我自己的結論。");
        let b = format!("Different opening words here. {}", EN.to_uppercase());
        let cfg = TextConfig { min_jaccard: 0.3, bands: 64, rows: 2, ..TextConfig::default() };
        let got = compare_text(&[&a, &b], &cfg).expect("compares");
        assert_eq!(got.pairs.len(), 1, "{got:?}");
        let pair = &got.pairs[0];
        for (text, spans) in [(&a, &pair.a_spans), (&b, &pair.b_spans)] {
            assert!(!spans.is_empty());
            for s in spans.iter() {
                assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end), "{s:?}");
                assert!(s.start < s.end);
            }
            assert!(spans.windows(2).all(|w| w[0].end < w[1].start));
        }
        // The copied sentence is covered on both sides; the own opening is not.
        let covered = |spans: &[Range<usize>], at: usize| spans.iter().any(|s| s.contains(&at));
        let start_a = own.len();
        assert!(covered(&pair.a_spans, start_a + 10) && covered(&pair.a_spans, start_a + EN.len() - 5));
        assert!(!covered(&pair.a_spans, 0));
        assert!(!covered(&pair.a_spans, a.len() - 4));
        let start_b = b.len() - EN.len();
        assert!(covered(&pair.b_spans, start_b + 10) && !covered(&pair.b_spans, 0));
    }

    #[test]
    fn output_does_not_depend_on_the_number_of_threads() {
        let texts: Vec<String> =
            (0..60).map(|i| format!("{} {} {}", [EN, ZH, EN_OTHER][i % 3], i % 7, [ZH, EN][i % 2])).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let many = compare_text(&refs, &TextConfig::default()).expect("compares");
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool");
        assert_eq!(pool.install(|| compare_text(&refs, &TextConfig::default())).expect("compares"), many);
        assert!(many.pairs.len() > 100);
    }

    #[test]
    fn deterministic_and_validated() {
        let texts = [ZH, ZH_REPUNCTUATED, EN, EN_OTHER, EN];
        let first = compare_text(&texts, &TextConfig::default()).expect("compares");
        assert_eq!(compare_text(&texts, &TextConfig::default()).expect("compares"), first);
        assert_eq!(first.pairs.iter().map(|p| (p.a, p.b)).collect::<Vec<_>>(), [(0, 1), (2, 4)]);
        for cfg in [
            TextConfig { shingle: 0, ..TextConfig::default() },
            TextConfig { rows: 0, ..TextConfig::default() },
            TextConfig { min_jaccard: f64::NAN, ..TextConfig::default() },
        ] {
            assert!(matches!(compare_text(&texts, &cfg), Err(SimilarityError::InvalidConfig { .. })));
        }
    }
}

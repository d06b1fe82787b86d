//! Copied code across a class: Python hand-ins in, scored pairs with matching fragments out.
//!
//! The pipeline of Dolos (Maertens et al., 2022) and MOSS (Schleimer, Wilkerson and Aiken,
//! 2003): syntax-tree tokens ([`crate::tokenize`]) → winnowed k-gram fingerprints
//! ([`crate::winnow`]) → starter code and class-wide boilerplate removed → an inverted
//! index from fingerprint to hand-ins, so that only pairs sharing a fingerprint are ever
//! visited → scores, then fragments for the pairs kept.

use rayon::prelude::*;

use crate::error::{SimilarityError, check};
use crate::tokenize::PythonTokenizer;
use crate::winnow::{Fingerprint, fingerprints, kgram_hashes};

/// When building a pair's fragments, each fingerprint of hand-in `b` is paired with at most
/// this many of its occurrences in hand-in `a` (the first ones), so a hand-in repeating one
/// line 10,000 times costs linear time. Scores are not affected (they count distinct hashes).
pub const MAX_OCCURRENCES: usize = 16;

/// Settings of [`compare_code`]. [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeConfig {
    /// k-gram length, in tokens (default 12). No match shorter than `k` tokens is seen. One
    /// line of Python is some 5 to 10 tokens (a node and its leaves), so 12 is about a line
    /// and a half: short enough to catch a copied helper of three lines, long enough that
    /// `for i in range(n):` alone, written by everyone, is not a match. Dolos uses 23 on
    /// full-size programs; course exercises are 20 to 80 lines.
    pub k: usize,
    /// Winnowing window, in k-grams (default 8). At least one fingerprint is kept in every
    /// `window` consecutive k-grams, so any match of `k + window - 1` = 19 tokens (two to
    /// three lines) is always detected, and about `2 / (window + 1)` of the k-grams (a
    /// fifth) are stored. Dolos uses 17.
    pub window: usize,
    /// A fingerprint found in more than this fraction of the hand-ins is removed from all
    /// of them (default 0.5): what most of the class writes is the exercise's idiom or
    /// given code, not copying. In (0, 1]; 1 never removes anything.
    pub common_fraction: f64,
    /// The class-wide removal applies only from this many hand-ins (default 4): in a class
    /// of 2 or 3 "more than half" is one pair and would remove exactly what is copied.
    pub min_class_for_common: usize,
    /// Pairs whose [`CodePair::over_both`] (Jaccard) is below this are not reported
    /// (default 0.3). In [0, 1]; 0 reports every pair that shares at least one
    /// fingerprint. On a short exercise, hand-ins written independently commonly share 10
    /// to 30% of their fingerprints (the same idioms in the same order), and a class of
    /// 1,000 has half a million pairs: below 0.3 the list is long and mostly such
    /// convergence. Copied hand-ins, even disguised, score 0.5 and more. A hand-in that
    /// copied a part into much code of its own scores low here and high in
    /// [`CodePair::over_smaller`]; lower the floor to review such partial copies.
    pub min_over_both: f64,
}

impl Default for CodeConfig {
    fn default() -> Self {
        CodeConfig { k: 12, window: 8, common_fraction: 0.5, min_class_for_common: 4, min_over_both: 0.3 }
    }
}

impl CodeConfig {
    /// Checks every field's range. Errors: [`SimilarityError::InvalidConfig`].
    pub fn validate(&self) -> Result<(), SimilarityError> {
        check(self.k >= 1, "k", self.k, "at least 1")?;
        check(self.window >= 1, "window", self.window, "at least 1")?;
        check(
            self.common_fraction > 0.0 && self.common_fraction <= 1.0,
            "common_fraction",
            self.common_fraction,
            "a fraction in (0, 1]",
        )?;
        check((0.0..=1.0).contains(&self.min_over_both), "min_over_both", self.min_over_both, "a fraction in [0, 1]")
    }
}

/// A run of matching code in two hand-ins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fragment {
    /// Lines of hand-in `a`, 1-based, inclusive (`start..=end`).
    pub a_lines: (u32, u32),
    /// Lines of hand-in `b`, 1-based, inclusive.
    pub b_lines: (u32, u32),
    /// How many matched fingerprints the fragment is made of (a measure of its length: one
    /// per `(window + 1) / 2` tokens on average).
    pub fingerprints: usize,
}

/// Two hand-ins that share fingerprints.
#[derive(Debug, Clone, PartialEq)]
pub struct CodePair {
    /// Index of the first hand-in in the `sources` given; `a < b`.
    pub a: usize,
    /// Index of the second hand-in.
    pub b: usize,
    /// Distinct fingerprint hashes the two have in common (after removals).
    pub shared: usize,
    /// `shared / min(|A|, |B|)` over distinct fingerprints, in [0, 1]: 1 when the smaller
    /// hand-in is entirely inside the larger one.
    pub over_smaller: f64,
    /// `shared / |A ∪ B|` (Jaccard), in [0, 1]: 1 when the two are the same (up to
    /// what tokenising normalises away).
    pub over_both: f64,
    /// The matching fragments, sorted by line ranges (`a_lines`, then `b_lines`).
    pub fragments: Vec<Fragment>,
}

/// The result of [`compare_code`]. Per-hand-in vectors are indexed like `sources`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodeComparison {
    /// Pairs with `over_both >= min_over_both` (and at least one shared fingerprint),
    /// `a < b`, sorted by `over_both` descending, then `over_smaller` descending, then
    /// `(a, b)`.
    pub pairs: Vec<CodePair>,
    /// Tokens per hand-in.
    pub tokens: Vec<usize>,
    /// Distinct fingerprint hashes per hand-in after the starter and common ones are
    /// removed (the `|A|` of the scores).
    pub fingerprints: Vec<usize>,
    /// Distinct hashes removed because the starter code has them.
    pub ignored_starter: usize,
    /// Distinct hashes removed because more than `common_fraction` of the class has them.
    pub ignored_common: usize,
    /// Pairs that shared at least one fingerprint (before the `min_over_both` floor).
    pub candidate_pairs: usize,
    /// Hand-ins longer than [`MAX_SOURCE_BYTES`](crate::MAX_SOURCE_BYTES): only their head
    /// was compared.
    pub truncated: Vec<usize>,
    /// Hand-ins nested deeper than [`MAX_TREE_DEPTH`](crate::MAX_TREE_DEPTH): their deepest
    /// parts were not compared.
    pub depth_limited: Vec<usize>,
    /// Hand-ins whose parse ran past [`PARSE_BUDGET`](crate::tokenize::PARSE_BUDGET):
    /// not compared (no fingerprints).
    pub stopped: Vec<usize>,
}

/// One hand-in after fingerprinting and removals.
struct HandIn {
    /// Kept fingerprints in source order; `hash` replaced by the dense id of its hash.
    prints: Vec<(u32, Fingerprint)>,
    /// `(hash id, index in prints)`, sorted: the occurrences of each hash.
    by_hash: Vec<(u32, u32)>,
    /// Distinct hash ids, sorted.
    distinct: Vec<u32>,
}

/// Compares every pair of Python hand-ins of one exercise.
///
/// `starter`: the exercise's given code, if any; every k-gram hash in it (all of them, not
/// only its winnowed ones, so that a hand-in's choice of window minimum cannot let a piece
/// of it through) is removed from every hand-in. `sources`: one Python source per
/// hand-in; the indices of the result refer to it.
///
/// Cost: tokenising is linear in the total source length; scoring visits, for each
/// fingerprint, the pairs of hand-ins holding it, which is near-linear for a real class
/// because fingerprints shared by more than `common_fraction` of it are removed first
/// (worst case quadratic, as the number of reported pairs can be). Fragments are built
/// only for the pairs kept. Runs on all cores; the result does not depend on their number.
///
/// Errors: [`SimilarityError::InvalidConfig`] for a bad `config`;
/// [`SimilarityError::Grammar`] / [`SimilarityError::ParseAborted`] if tree-sitter fails
/// as a library. No source makes it fail.
pub fn compare_code(
    starter: Option<&str>,
    sources: &[&str],
    config: &CodeConfig,
) -> Result<CodeComparison, SimilarityError> {
    config.validate()?;
    let (k, w) = (config.k, config.window);

    // 1. Tokens and fingerprints, in parallel (one parser per worker).
    let mut tokenizer = PythonTokenizer::new()?;
    let mut starter_hashes: Vec<u64> = match starter {
        Some(s) => kgram_hashes(&tokenizer.tokenize(s)?.tokens, k),
        None => Vec::new(),
    };
    starter_hashes.sort_unstable();
    starter_hashes.dedup();
    let printed: Vec<(usize, bool, bool, Vec<Fingerprint>, bool)> = sources
        .par_iter()
        .map_init(
            || PythonTokenizer::new().ok(),
            |tokenizer, source| {
                // The grammar loaded on this thread above, so it loads here too; if not, the
                // error is made again to be returned (it cannot be cloned out of the init).
                let Some(tokenizer) = tokenizer.as_mut() else {
                    return Err(PythonTokenizer::new().err().unwrap_or(SimilarityError::ParseAborted));
                };
                let t = tokenizer.tokenize(source)?;
                let prints = fingerprints(&t.tokens, k, w);
                Ok((t.tokens.len(), t.truncated, t.depth_limited, prints, t.stopped))
            },
        )
        .collect::<Result<_, SimilarityError>>()?;

    let n = sources.len();
    let mut out = CodeComparison {
        tokens: printed.iter().map(|p| p.0).collect(),
        truncated: (0..n).filter(|&i| printed[i].1).collect(),
        depth_limited: (0..n).filter(|&i| printed[i].2).collect(),
        stopped: (0..n).filter(|&i| printed[i].4).collect(),
        ..CodeComparison::default()
    };

    // 2. Dense ids for the distinct hashes, and which hand-ins hold each.
    let mut all: Vec<(u64, u32)> =
        printed.iter().enumerate().flat_map(|(d, p)| p.3.iter().map(move |f| (f.hash, d as u32))).collect();
    all.par_sort_unstable();
    all.dedup();
    // Per kept hash id: the hand-ins holding it, ascending.
    let mut postings: Vec<Vec<u32>> = Vec::new();
    let min_common = config.common_fraction * n as f64;
    let apply_common = n >= config.min_class_for_common;
    // Per distinct hash: its id, or None when removed.
    let mut ids: Vec<Option<u32>> = Vec::new();
    for group in all.chunk_by(|x, y| x.0 == y.0) {
        let hash = group[0].0;
        let id = if starter_hashes.binary_search(&hash).is_ok() {
            out.ignored_starter += 1;
            None
        } else if apply_common && group.len() as f64 > min_common {
            out.ignored_common += 1;
            None
        } else {
            postings.push(group.iter().map(|x| x.1).collect());
            Some(postings.len() as u32 - 1)
        };
        ids.push(id);
    }
    // `all` was sorted by hash: the position of a hash among the distinct ones is a search.
    let distinct_all: Vec<u64> = all.chunk_by(|x, y| x.0 == y.0).map(|g| g[0].0).collect();
    drop(all);

    let hand_ins: Vec<HandIn> = printed
        .into_par_iter()
        .map(|(_, _, _, prints, _)| {
            let prints: Vec<(u32, Fingerprint)> = prints
                .into_iter()
                .filter_map(|f| {
                    let at = distinct_all.binary_search(&f.hash).ok()?;
                    ids[at].map(|id| (id, f))
                })
                .collect();
            let mut by_hash: Vec<(u32, u32)> = prints.iter().enumerate().map(|(i, (id, _))| (*id, i as u32)).collect();
            by_hash.sort_unstable();
            let mut distinct: Vec<u32> = by_hash.iter().map(|x| x.0).collect();
            distinct.dedup();
            HandIn { prints, by_hash, distinct }
        })
        .collect();
    drop(distinct_all);
    drop(ids);
    out.fingerprints = hand_ins.iter().map(|h| h.distinct.len()).collect();

    // 3. Shared counts, through the inverted index: for each `a`, every `b > a` holding
    //    one of its hashes, counted in a dense scratch row (reset through `touched`).
    let rows: Vec<(usize, Vec<(u32, u32)>)> = (0..n)
        .into_par_iter()
        .map_init(
            || (vec![0u32; n], Vec::<u32>::new()),
            |(counts, touched), a| {
                for &h in &hand_ins[a].distinct {
                    let list = &postings[h as usize];
                    let from = list.partition_point(|&d| d as usize <= a);
                    for &b in &list[from..] {
                        if counts[b as usize] == 0 {
                            touched.push(b);
                        }
                        counts[b as usize] += 1;
                    }
                }
                let seen = touched.len();
                let mut kept = Vec::new();
                for &b in touched.iter() {
                    let shared = std::mem::take(&mut counts[b as usize]);
                    let (size_a, size_b) = (hand_ins[a].distinct.len(), hand_ins[b as usize].distinct.len());
                    if jaccard(shared as usize, size_a, size_b) >= config.min_over_both {
                        kept.push((b, shared));
                    }
                }
                touched.clear();
                (seen, kept)
            },
        )
        .collect();
    out.candidate_pairs = rows.iter().map(|r| r.0).sum();

    // 4. Scores and fragments for the pairs kept.
    let kept: Vec<(usize, u32, u32)> =
        rows.into_iter().enumerate().flat_map(|(a, (_, row))| row.into_iter().map(move |(b, s)| (a, b, s))).collect();
    out.pairs = kept
        .into_par_iter()
        .map_init(
            || Scratch::new(postings.len()),
            |scratch, (a, b, shared)| {
                let (ha, hb) = (&hand_ins[a], &hand_ins[b as usize]);
                let (size_a, size_b) = (ha.distinct.len(), hb.distinct.len());
                let shared = shared as usize;
                CodePair {
                    a,
                    b: b as usize,
                    shared,
                    over_smaller: if size_a.min(size_b) == 0 { 0.0 } else { shared as f64 / size_a.min(size_b) as f64 },
                    over_both: jaccard(shared, size_a, size_b),
                    fragments: fragments((a, ha), hb, scratch),
                }
            },
        )
        .collect();
    out.pairs.sort_by(|x, y| {
        y.over_both
            .total_cmp(&x.over_both)
            .then(y.over_smaller.total_cmp(&x.over_smaller))
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    Ok(out)
}

/// `shared / (a + b - shared)`, 0 for two empty sets.
fn jaccard(shared: usize, a: usize, b: usize) -> f64 {
    let union = a + b - shared;
    if union == 0 { 0.0 } else { shared as f64 / union as f64 }
}

/// Buffers reused from pair to pair by one worker.
struct Scratch {
    /// For each hash id, where its occurrences start in `by_hash` of hand-in `owner`, or
    /// `u32::MAX`. Consecutive pairs mostly share `a`, so this is rebuilt only when it changes.
    slot: Vec<u32>,
    owner: Option<usize>,
    /// The ids set in `slot`, to reset it.
    set: Vec<u32>,
    /// `(i, chain)` for the matches of the previous and the current `j`.
    previous: Vec<(u32, u32)>,
    current: Vec<(u32, u32)>,
    /// `(i, j, length)` of each chain.
    chains: Vec<(u32, u32, u32)>,
    covered_a: Vec<bool>,
    covered_b: Vec<bool>,
}

impl Scratch {
    fn new(ids: usize) -> Self {
        Scratch {
            slot: vec![u32::MAX; ids],
            owner: None,
            set: Vec::new(),
            previous: Vec::new(),
            current: Vec::new(),
            chains: Vec::new(),
            covered_a: Vec::new(),
            covered_b: Vec::new(),
        }
    }
}

/// The matching fragments of two hand-ins, after Dolos's fragment building: every pair of
/// occurrences of a shared fingerprint is a match `(i, j)` (positions in the two
/// fingerprint sequences); a match extends the fragment ending in `(i - 1, j - 1)`, so a
/// fragment is a run along one diagonal. Longer fragments are kept first, and one whose
/// every position on both sides is already covered (a crossing of repeated code) is
/// dropped. Fragments whose line ranges overlap or touch on both sides are then merged.
/// Linear in the number of matches (at most [`MAX_OCCURRENCES`] per fingerprint of `b`).
fn fragments((index_a, a): (usize, &HandIn), b: &HandIn, scratch: &mut Scratch) -> Vec<Fragment> {
    let Scratch { slot, owner, set, previous, current, chains, covered_a, covered_b } = scratch;
    if *owner != Some(index_a) {
        for &id in set.iter() {
            slot[id as usize] = u32::MAX;
        }
        set.clear();
        for (k, &(id, _)) in a.by_hash.iter().enumerate() {
            if slot[id as usize] == u32::MAX {
                slot[id as usize] = k as u32;
                set.push(id);
            }
        }
        *owner = Some(index_a);
    }

    // Walk `b` in order; each of its fingerprints matches the occurrences in `a` (ascending
    // `i`), and extends the chain that matched `(i - 1)` at `j - 1`.
    chains.clear();
    previous.clear();
    for (j, &(id, _)) in b.prints.iter().enumerate() {
        current.clear();
        let first = slot[id as usize];
        if first != u32::MAX {
            let occurrences = a.by_hash[first as usize..].iter().take_while(|o| o.0 == id).take(MAX_OCCURRENCES);
            let mut p = 0;
            for &(_, i) in occurrences {
                while p < previous.len() && previous[p].0 + 1 < i {
                    p += 1;
                }
                let chain = match previous.get(p) {
                    Some(&(pi, chain)) if pi + 1 == i => {
                        chains[chain as usize].2 += 1;
                        chain
                    }
                    _ => {
                        chains.push((i, j as u32, 1));
                        (chains.len() - 1) as u32
                    }
                };
                current.push((i, chain));
            }
        }
        std::mem::swap(previous, current);
    }
    chains.sort_unstable_by(|x, y| y.2.cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));

    covered_a.clear();
    covered_a.resize(a.prints.len(), false);
    covered_b.clear();
    covered_b.resize(b.prints.len(), false);
    let mut out: Vec<Fragment> = Vec::with_capacity(chains.len());
    for &(i, j, len) in chains.iter() {
        let (ia, ib) = (i as usize..(i + len) as usize, j as usize..(j + len) as usize);
        if covered_a[ia.clone()].iter().all(|&c| c) && covered_b[ib.clone()].iter().all(|&c| c) {
            continue;
        }
        covered_a[ia.clone()].fill(true);
        covered_b[ib.clone()].fill(true);
        out.push(Fragment { a_lines: span(&a.prints[ia]), b_lines: span(&b.prints[ib]), fingerprints: len as usize });
    }
    merge(out)
}

/// The lines covered by consecutive fingerprints.
fn span(prints: &[(u32, Fingerprint)]) -> (u32, u32) {
    let first = prints.iter().map(|p| p.1.lines.0).min().unwrap_or(0);
    let last = prints.iter().map(|p| p.1.lines.1).max().unwrap_or(first);
    (first, last)
}

/// Whether two inclusive line ranges overlap or touch.
fn touch(x: (u32, u32), y: (u32, u32)) -> bool {
    x.0 <= y.1.saturating_add(1) && y.0 <= x.1.saturating_add(1)
}

/// Merges fragments that overlap or touch on both sides, until none do; sorted.
fn merge(mut fragments: Vec<Fragment>) -> Vec<Fragment> {
    if fragments.len() < 2 {
        return fragments;
    }
    loop {
        fragments.sort_unstable();
        let before = fragments.len();
        let mut merged: Vec<Fragment> = Vec::with_capacity(before);
        // Indices into `merged` whose `a` range still reaches the current start (starts
        // only grow in this sorted sweep, so one that stops reaching never does again).
        let mut active: Vec<usize> = Vec::new();
        for f in fragments {
            active.retain(|&m| merged[m].a_lines.1.saturating_add(1) >= f.a_lines.0);
            match active.iter().copied().find(|&m| touch(merged[m].b_lines, f.b_lines)) {
                Some(m) => {
                    let m = &mut merged[m];
                    m.a_lines = (m.a_lines.0.min(f.a_lines.0), m.a_lines.1.max(f.a_lines.1));
                    m.b_lines = (m.b_lines.0.min(f.b_lines.0), m.b_lines.1.max(f.b_lines.1));
                    m.fingerprints += f.fingerprints;
                }
                None => {
                    active.push(merged.len());
                    merged.push(f);
                }
            }
        }
        // A merge can widen a `b` range to touch one seen before it: sweep again.
        let done = merged.len() == before;
        fragments = merged;
        if done {
            return fragments;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = r#"import numpy as np

def softmax(x, axis=-1):
    """Row-wise softmax."""
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)

def attention(q, k, v):
    d = q.shape[-1]
    scores = q @ k.T / np.sqrt(d)
    weights = softmax(scores)
    return weights @ v, weights
"#;

    /// ORIGINAL renamed, re-commented, re-spaced and re-bracketed.
    const DISGUISED: &str = r#"import numpy as np
# my own work


def my_softmax(values, axis=-2):
    # subtract the max for stability
    biggest = np.max(values, axis=axis, keepdims=True)

    expd = np.exp((values - biggest))
    return (expd / np.sum(expd, axis=axis, keepdims=True))


def attend(query, key, value):
    """Scaled dot-product attention (Vaswani et al.)."""
    dim = query.shape[-1]
    s = (query @ key.T) / np.sqrt((dim))
    w = my_softmax(s)
    return (w @ value), w
"#;

    const OTHER: &str = r#"class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        while not self.items:
            raise IndexError("empty")
        return self.items.pop()
"#;

    fn all_pairs() -> CodeConfig {
        CodeConfig { min_over_both: 0.0, ..CodeConfig::default() }
    }

    #[test]
    fn renaming_comments_blank_lines_and_brackets_are_invisible() {
        let got = compare_code(None, &[ORIGINAL, DISGUISED], &all_pairs()).expect("compares");
        assert_eq!(got.pairs.len(), 1, "{got:?}");
        let pair = &got.pairs[0];
        assert_eq!((pair.a, pair.b), (0, 1));
        assert_eq!(pair.over_both, 1.0, "{got:?}");
        assert_eq!(pair.over_smaller, 1.0);
        assert_eq!(got.fingerprints[0], got.fingerprints[1]);
        assert_eq!(pair.shared, got.fingerprints[0]);
        assert_eq!(got.tokens[0], got.tokens[1]);
    }

    #[test]
    fn rebracketing_alone_is_invisible() {
        let a = "def f(a, b, c):\n    y = a * b + c - a / b\n    return y ** 2 + (a if b else c)\n";
        let b = "def f(a, b, c):\n    y = ((a * b) + c) - (a / b)\n    return ((y ** 2)) + (a if (b) else c)\n";
        let got = compare_code(None, &[a, b], &CodeConfig { k: 6, window: 3, ..all_pairs() }).expect("compares");
        assert_eq!(got.pairs.len(), 1);
        assert_eq!(got.pairs[0].over_both, 1.0);
    }

    #[test]
    fn starter_code_is_not_a_match() {
        let got = compare_code(Some(ORIGINAL), &[ORIGINAL, DISGUISED], &all_pairs()).expect("compares");
        assert!(got.pairs.is_empty(), "{got:?}");
        assert_eq!(got.fingerprints, [0, 0]);
        assert!(got.ignored_starter > 0);
        // The starter plus one's own code: only what was added is compared.
        let extended = format!("{ORIGINAL}\n{OTHER}");
        let got = compare_code(Some(ORIGINAL), &[&extended, OTHER, ORIGINAL], &all_pairs()).expect("compares");
        assert_eq!(got.pairs.len(), 1);
        // `extended` has k-grams across the seam of the two parts, which `OTHER` has not.
        assert_eq!((got.pairs[0].a, got.pairs[0].b, got.pairs[0].over_smaller), (0, 1, 1.0));
    }

    #[test]
    fn code_most_of_the_class_has_is_ignored() {
        let helper = "def helper(xs):\n    total = 0\n    for x in xs:\n        total += x * x\n    return total\n";
        let own = [
            "while True:\n    line = input()\n    if not line:\n        break\n    print(line.upper())\n",
            "import sys\nwith open(sys.argv[1]) as f:\n    data = [int(l) for l in f if l.strip()]\nprint(sorted(data)[::-1])\n",
            "class A:\n    def __init__(self):\n        self.d = {}\n    def add(self, k, v):\n        self.d.setdefault(k, []).append(v)\n",
            "try:\n    import json\n    obj = json.loads('{}')\nexcept ValueError as e:\n    raise SystemExit(str(e))\n",
        ];
        let sources: Vec<String> =
            own.iter().take(3).map(|o| format!("{helper}\n{o}")).chain([own[3].to_string()]).collect();
        let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
        let cfg = CodeConfig { k: 5, window: 2, ..all_pairs() };
        let got = compare_code(None, &refs, &cfg).expect("compares");
        assert!(got.ignored_common > 0);
        assert!(got.pairs.iter().all(|p| p.over_both < 0.5), "{got:?}");
        // Below the class size where it applies, the helper is a match.
        let got = compare_code(None, &refs[..3], &cfg).expect("compares");
        assert_eq!(got.ignored_common, 0);
        assert_eq!(got.pairs.len(), 3);
    }

    #[test]
    fn fragments_have_the_right_lines() {
        let helper = "def helper(xs, n):\n    total = 0\n    for x in xs:\n        if x > n:\n            total += x * x\n    return total\n";
        // `a`: the helper at lines 1-6, then its own code; `b`: its own code at lines 1-5,
        // then the helper at lines 6-11.
        let a = format!("{helper}{OTHER}");
        let b = format!(
            "import sys\nwith open(sys.argv[1]) as f:\n    data = [int(l) for l in f]\n\nprint(data)\n{helper}"
        );
        let cfg = CodeConfig { window: 1, ..all_pairs() };
        let got = compare_code(None, &[&a, &b], &cfg).expect("compares");
        assert_eq!(got.pairs.len(), 1, "{got:?}");
        let fragments = &got.pairs[0].fragments;
        assert_eq!(fragments.len(), 1, "{fragments:?}");
        assert_eq!((fragments[0].a_lines, fragments[0].b_lines), ((1, 6), (6, 11)), "{fragments:?}");
        assert!(fragments[0].fingerprints > 10);
    }

    #[test]
    fn fragments_merge_and_sort() {
        let f = |a: (u32, u32), b: (u32, u32)| Fragment { a_lines: a, b_lines: b, fingerprints: 1 };
        let merged = merge(vec![f((10, 12), (30, 31)), f((1, 3), (5, 7)), f((4, 5), (8, 8)), f((2, 2), (40, 40))]);
        assert_eq!(
            merged,
            vec![
                Fragment { a_lines: (1, 5), b_lines: (5, 8), fingerprints: 2 },
                f((2, 2), (40, 40)),
                f((10, 12), (30, 31)),
            ]
        );
    }

    #[test]
    fn hostile_sources_do_not_fail() {
        let deep = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
        let lists = format!("y = {}0{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let broken = "def f(x:\n    return x +\n  print(f(2)\n}}}\n";
        let repeated = "x = x + 1\n".repeat(5_000);
        let got =
            compare_code(None, &[&deep, &lists, broken, "", &repeated, &repeated], &all_pairs()).expect("compares");
        assert_eq!(got.depth_limited, [0, 1]);
        assert!(got.tokens[2] > 10);
        assert_eq!(got.fingerprints[3], 0);
        assert!(got.pairs.iter().any(|p| (p.a, p.b, p.over_both) == (4, 5, 1.0)));
    }

    #[test]
    fn output_is_sorted_and_deterministic() {
        let sources = [OTHER, ORIGINAL, DISGUISED, ORIGINAL, "x = 1\n"];
        let cfg = CodeConfig { k: 5, window: 4, common_fraction: 1.0, ..all_pairs() };
        let first = compare_code(None, &sources, &cfg).expect("compares");
        for _ in 0..3 {
            assert_eq!(compare_code(None, &sources, &cfg).expect("compares"), first);
        }
        assert!(first.pairs.iter().all(|p| p.a < p.b));
        assert!(first.pairs.windows(2).all(|w| w[0].over_both >= w[1].over_both));
        assert_eq!(first.candidate_pairs, first.pairs.len());
        // A floor drops the weak pairs.
        let strict = compare_code(None, &sources, &CodeConfig { min_over_both: 0.99, ..cfg }).expect("compares");
        assert!(strict.pairs.iter().all(|p| p.over_both >= 0.99));
        assert_eq!(strict.pairs.len(), 3);
    }

    #[test]
    fn output_does_not_depend_on_the_number_of_threads() {
        let sources: Vec<String> = (0..40)
            .map(|i| {
                let own = if i % 3 == 0 { OTHER } else { "print(sum(range(10)))\n" };
                if i % 2 == 0 { format!("{ORIGINAL}\n{own}") } else { format!("{own}\n{DISGUISED}") }
            })
            .collect();
        let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
        let cfg = CodeConfig { k: 6, window: 4, common_fraction: 1.0, ..all_pairs() };
        let many = compare_code(Some(STARTER_SNIPPET), &refs, &cfg).expect("compares");
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool");
        let one = one_thread.install(|| compare_code(Some(STARTER_SNIPPET), &refs, &cfg)).expect("compares");
        assert_eq!(many, one);
        assert!(many.pairs.len() > 100);
    }

    const STARTER_SNIPPET: &str = "import numpy as np\n";

    #[test]
    fn bad_settings_are_refused() {
        for cfg in [
            CodeConfig { k: 0, ..CodeConfig::default() },
            CodeConfig { window: 0, ..CodeConfig::default() },
            CodeConfig { common_fraction: 0.0, ..CodeConfig::default() },
            CodeConfig { common_fraction: f64::NAN, ..CodeConfig::default() },
            CodeConfig { min_over_both: 1.5, ..CodeConfig::default() },
        ] {
            let e = compare_code(None, &["x = 1"], &cfg).expect_err("refused");
            assert!(matches!(e, SimilarityError::InvalidConfig { .. }), "{e}");
        }
        assert!(compare_code(None, &[], &CodeConfig::default()).expect("compares").pairs.is_empty());
    }
}

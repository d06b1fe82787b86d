//! k-gram hashing and winnowing.
//!
//! Source: S. Schleimer, D. S. Wilkerson and A. Aiken, "Winnowing: local algorithms for
//! document fingerprinting", SIGMOD 2003. Every run of `k` consecutive tokens (a k-gram)
//! is hashed; in every window of `w` consecutive k-gram hashes the minimum is selected
//! (the rightmost one on ties, as in the paper's robust winnowing, figure 5), and each
//! selected position is recorded once. Any match of at least `w + k - 1` tokens is then
//! guaranteed to share a fingerprint, and no match shorter than `k` tokens is reported.

use std::collections::VecDeque;

use crate::hash::{hash_bytes, mix64};
use crate::tokenize::Token;

/// The odd multiplier of the polynomial rolling hash (the 64-bit golden ratio).
const BASE: u64 = 0x9e37_79b9_7f4a_7c15;

/// One selected k-gram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    /// The k-gram's hash: stable across machines, builds and runs.
    pub hash: u64,
    /// Index of the k-gram's first token in the token sequence.
    pub kgram: u32,
    /// First and last source line (1-based, inclusive) the k-gram's tokens cover.
    pub lines: (u32, u32),
}

/// The hash of every k-gram of `tokens`, in order (`tokens.len() - k + 1` values; none when
/// there are fewer than `k` tokens). A polynomial rolling hash over the token kinds' hashes
/// (Karp and Rabin, 1987), modulo 2^64, finished by a bit mixer: O(n) for any `k`.
pub fn kgram_hashes(tokens: &[Token], k: usize) -> Vec<u64> {
    if k == 0 || tokens.len() < k {
        return Vec::new();
    }
    let values: Vec<u64> = tokens.iter().map(|t| hash_bytes(t.kind.as_bytes())).collect();
    // BASE^(k-1): the weight of the token that leaves the window.
    let top = (1..k).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut h = values[..k].iter().fold(0u64, |h, &v| h.wrapping_mul(BASE).wrapping_add(v));
    let mut out = Vec::with_capacity(values.len() - k + 1);
    out.push(mix64(h));
    for i in k..values.len() {
        h = h.wrapping_sub(values[i - k].wrapping_mul(top)).wrapping_mul(BASE).wrapping_add(values[i]);
        out.push(mix64(h));
    }
    out
}

/// The positions winnowing selects from `hashes` with windows of `w` (ascending, each
/// once). When there are fewer than `w` hashes the whole sequence is one window. O(n)
/// with a monotone queue.
pub fn winnow(hashes: &[u64], w: usize) -> Vec<usize> {
    let w = w.max(1);
    let mut selected = Vec::with_capacity(hashes.len() * 2 / (w + 1) + 1);
    // Indices whose hashes increase strictly from front to back: the front is the
    // window's minimum, and the rightmost of equal minima (equal ones are popped).
    let mut queue: VecDeque<usize> = VecDeque::with_capacity(w + 1);
    for (i, &h) in hashes.iter().enumerate() {
        while queue.back().is_some_and(|&j| hashes[j] >= h) {
            queue.pop_back();
        }
        queue.push_back(i);
        if queue.front().is_some_and(|&j| j + w <= i) {
            queue.pop_front();
        }
        let window_full = i + 1 >= w || i + 1 == hashes.len();
        if let (true, Some(&m)) = (window_full, queue.front())
            && selected.last() != Some(&m)
        {
            selected.push(m);
        }
    }
    selected
}

/// Winnowed fingerprints of `tokens`, with line ranges.
pub fn fingerprints(tokens: &[Token], k: usize, w: usize) -> Vec<Fingerprint> {
    let hashes = kgram_hashes(tokens, k);
    winnow(&hashes, w)
        .into_iter()
        .map(|i| {
            let gram = &tokens[i..i + k];
            let first = gram.iter().map(|t| t.start_line).min().unwrap_or(0);
            let last = gram.iter().map(|t| t.end_line).max().unwrap_or(first);
            Fingerprint { hash: hashes[i], kgram: u32::try_from(i).unwrap_or(u32::MAX), lines: (first, last) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(kind: &'static str, line: u32) -> Token {
        Token { kind, start_line: line, end_line: line }
    }

    #[test]
    fn rolling_equals_direct() {
        let kinds = ["a", "b", "c", "a", "b", "c", "d"];
        let tokens: Vec<Token> = kinds.iter().map(|k| tok(k, 1)).collect();
        let rolled = kgram_hashes(&tokens, 3);
        assert_eq!(rolled.len(), 5);
        for (i, &h) in rolled.iter().enumerate() {
            assert_eq!(h, kgram_hashes(&tokens[i..i + 3], 3)[0]);
        }
        assert_eq!(rolled[0], rolled[3]);
        assert_ne!(rolled[0], rolled[1]);
        assert!(kgram_hashes(&tokens[..2], 3).is_empty());
    }

    #[test]
    fn winnowing_matches_the_paper() {
        // The example of the paper's figure 2: hashes of 5-grams, windows of 4.
        let h = [77, 74, 42, 17, 98, 50, 17, 98, 8, 88, 67, 39, 77, 74, 42, 17, 98];
        let picked: Vec<u64> = winnow(&h, 4).into_iter().map(|i| h[i]).collect();
        assert_eq!(picked, [17, 17, 8, 39, 17]);
        // Rightmost minimum on ties, each position once.
        assert_eq!(winnow(&[5, 5, 5, 5], 2), [1, 2, 3]);
        assert_eq!(winnow(&[3, 1, 2], 8), [1]);
        assert!(winnow(&[], 4).is_empty());
    }

    #[test]
    fn every_window_holds_a_selection() {
        let h: Vec<u64> = (0..500u64).map(|i| mix64(i % 37)).collect();
        let w = 8;
        let sel = winnow(&h, w);
        for start in 0..=h.len() - w {
            assert!(sel.iter().any(|&p| p >= start && p < start + w), "window {start}");
        }
    }

    #[test]
    fn fingerprint_lines_cover_the_kgram() {
        let tokens: Vec<Token> = (0..6).map(|i| tok(["x", "y", "z"][i % 3], i as u32 / 2 + 1)).collect();
        for f in fingerprints(&tokens, 3, 1) {
            let i = f.kgram as usize;
            assert_eq!(f.lines, (tokens[i].start_line, tokens[i + 2].end_line));
        }
    }
}

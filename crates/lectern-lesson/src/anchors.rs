//! Anchors: the ids of a lesson page's headings, constructs and footnotes, made by one
//! rule that the site (which writes them) and `check` (which finds duplicates and dead
//! links) share.
//!
//! Headings get GitHub's ids: the heading's text in lower case, letters and digits of
//! every script kept (so Chinese headings keep their characters), spaces and hyphens
//! as `-`, everything else dropped; a second heading with the same text gets `-1`,
//! the third `-2`, and so on, skipping ids already taken. An explicit `{#id}` is kept
//! as written.

use std::collections::HashSet;

/// The id GitHub gives a heading with this text (before de-duplication).
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else if c == ' ' {
            out.push('-');
        }
    }
    out
}

/// A quiz's anchor on its lesson page.
pub fn quiz(id: &str) -> String {
    format!("quiz-{id}")
}

/// A challenge's anchor on its lesson page.
pub fn challenge(id: &str) -> String {
    format!("challenge-{id}")
}

/// The anchor of the `n`th footnote (1-based, in the order of first reference).
pub fn footnote(n: usize) -> String {
    format!("fn-{n}")
}

/// The anchor of the `k`th reference (1-based) to the `n`th footnote.
pub fn footnote_ref(n: usize, k: usize) -> String {
    format!("fnref-{n}-{k}")
}

/// Ids the page itself uses, which no heading may take.
pub const PAGE: &[&str] = &["main", "student-id", "lectern-ui", "lectern-rules", "footnotes"];

/// The ids taken on one page so far.
#[derive(Debug, Clone)]
pub struct Ids(HashSet<String>);

impl Default for Ids {
    fn default() -> Ids {
        Ids(PAGE.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl Ids {
    /// Takes `id` as written; false when it was already taken.
    pub fn take(&mut self, id: &str) -> bool {
        self.0.insert(id.to_owned())
    }

    /// The id for a heading with `text`: its [`slug`], or the first of `slug-1`,
    /// `slug-2`, … not yet taken (`section` when the slug is empty).
    pub fn heading(&mut self, text: &str) -> String {
        let base = slug(text);
        let base = if base.is_empty() { "section".to_owned() } else { base };
        if self.0.insert(base.clone()) {
            return base;
        }
        (1..).map(|n| format!("{base}-{n}")).find(|id| self.0.insert(id.clone())).unwrap_or(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_github_ids_in_every_script() {
        assert_eq!(slug("Example 1"), "example-1");
        assert_eq!(slug("Why O(n²)? — the cost"), "why-on²--the-cost");
        assert_eq!(slug("自注意力：Self-Attention"), "自注意力self-attention");
        assert_eq!(slug("  KV_cache  "), "kv_cache");
        let mut ids = Ids::default();
        assert_eq!(ids.heading("Example"), "example");
        assert_eq!(ids.heading("Example"), "example-1");
        assert_eq!(ids.heading("Example"), "example-2");
        assert_eq!(ids.heading("Main"), "main-1", "the page's own ids are taken");
        assert_eq!(ids.heading("!!!"), "section");
        assert!(ids.take("custom") && !ids.take("custom"));
    }
}

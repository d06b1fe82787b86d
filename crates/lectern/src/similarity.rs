//! The similarity finder wired into the grader: `lectern_grade::SimilarityFinder` for
//! `lectern-similarity` (syntax-tree tokens and winnowing for code, MinHash over
//! character shingles for free text), with the settings documented in guide lesson 6.

use lectern_grade::{Match, SimilarityFinder};
use lectern_similarity::{CodeConfig, TextConfig};

/// `lectern-similarity` with its default settings; the floor of each call is the
/// grader's threshold.
#[derive(Debug, Default)]
pub struct Finder {
    code: CodeConfig,
    text: TextConfig,
}

impl Finder {
    /// The text settings for a floor: below 0.5, more bands of fewer rows, so that pairs
    /// near the floor still become candidates (at 64 × 2, a pair of Jaccard 0.3 does with
    /// probability 0.998; at the default 32 × 4, 0.23).
    fn text_config(&self, floor: f64) -> TextConfig {
        let mut config = TextConfig { min_jaccard: floor, ..self.text.clone() };
        if floor < 0.5 {
            config.bands = 64;
            config.rows = 2;
        }
        config
    }
}

impl SimilarityFinder for Finder {
    fn code(&self, starter: Option<&str>, sources: &[&str], floor: f64) -> Result<Vec<Match>, String> {
        let config = CodeConfig { min_over_both: floor, ..self.code.clone() };
        let found = lectern_similarity::compare_code(starter, sources, &config).map_err(|e| e.to_string())?;
        Ok(found
            .pairs
            .into_iter()
            .map(|p| Match {
                a: p.a,
                b: p.b,
                score: p.over_both,
                over_smaller: p.over_smaller,
                shared: p.fragments.iter().map(|f| ((f.a_lines.0 as usize, f.a_lines.1 as usize), (f.b_lines.0 as usize, f.b_lines.1 as usize))).collect(),
            })
            .collect())
    }

    fn text(&self, answers: &[&str], floor: f64) -> Result<Vec<Match>, String> {
        let found = lectern_similarity::compare_text(answers, &self.text_config(floor)).map_err(|e| e.to_string())?;
        Ok(found
            .pairs
            .into_iter()
            .map(|p| {
                // Text pairs have one score; the smaller side's share is not computed.
                let spans = p.a_spans.iter().map(|r| (r.start, r.end)).zip(p.b_spans.iter().map(|r| (r.start, r.end)));
                let mut shared: Vec<_> = spans.collect();
                // Spans of the two sides are listed separately; unmatched ones are kept too.
                let (na, nb) = (p.a_spans.len(), p.b_spans.len());
                if na > nb {
                    shared.extend(p.a_spans[nb..].iter().map(|r| ((r.start, r.end), (0, 0))));
                } else {
                    shared.extend(p.b_spans[na..].iter().map(|r| ((0, 0), (r.start, r.end))));
                }
                Match { a: p.a, b: p.b, score: p.jaccard, over_smaller: p.jaccard, shared }
            })
            .collect())
    }

    fn fingerprint(&self) -> String {
        format!("lectern-similarity {} {:?} {:?}", env!("CARGO_PKG_VERSION"), self.code, self.text)
    }
}

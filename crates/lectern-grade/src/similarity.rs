//! Copied work across a class, for the instructor's review (never a verdict, never
//! shown to students): for each exercise, the pairs of hand-ins whose code shares
//! fingerprints beyond the starter code and what most of the class wrote; for each
//! challenge step, the pairs of answers that share passages. Written to
//! `similarity.html` beside `report.html`, and kept in `gradebook.sqlite` (re-used
//! while the compared texts, the finder and the threshold stay the same).
//!
//! The comparison itself is a [`SimilarityFinder`]'s (the binary wires Lectern's
//! `lectern-similarity` in); this module knows which texts to compare, keeps the
//! results, and renders them. Every text shown is a student's: escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::export::Class;
use crate::report::esc;
use crate::store::Store;
use crate::GradeError;

/// The default `--similarity-threshold`: a pair is listed when at least this share of
/// the two hand-ins' fingerprints (after the starter code and what most of the class
/// wrote are taken out) is shared, `|A ∩ B| / |A ∪ B|`. Chosen on Lectern's test set of
/// independent solutions and disguised copies (`tests/fixtures/similarity/`); see the
/// guide's grading lesson.
pub const DEFAULT_THRESHOLD: f64 = 0.25;

/// Compares the texts of a class (the binary wires `lectern-similarity` in).
pub trait SimilarityFinder: Sync {
    /// Pairs of `sources` (one student's Python file each) whose code looks copied, with
    /// the shared fragments as 1-based inclusive line ranges; what `starter` holds is
    /// never counted. Only pairs scoring at least `floor` are returned.
    fn code(&self, starter: Option<&str>, sources: &[&str], floor: f64) -> Result<Vec<Match>, String>;
    /// Pairs of `answers` (free text) that share passages, with the shared passages as
    /// byte ranges of each answer. Only pairs scoring at least `floor` are returned.
    fn text(&self, answers: &[&str], floor: f64) -> Result<Vec<Match>, String>;
    /// What, besides the texts, decides the results (the finder's settings and version):
    /// part of what stored results are re-used under.
    fn fingerprint(&self) -> String;
}

/// One pair of hand-ins that look alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Indexes into the compared texts, `a < b`.
    pub a: usize,
    pub b: usize,
    /// Shared over both: `|A ∩ B| / |A ∪ B|` of the texts' fingerprints (0 to 1).
    pub score: f64,
    /// Shared over the smaller side: `|A ∩ B| / min(|A|, |B|)` (0 to 1); high when one
    /// hand-in is contained in the other.
    pub over_smaller: f64,
    /// The shared fragments: (range in `a`, range in `b`); lines (1-based, inclusive)
    /// for code, byte ranges (end exclusive) for text.
    pub shared: Vec<((usize, usize), (usize, usize))>,
}

/// What is compared in one section: code of an exercise, or answers to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Code,
    Text,
}

/// One exercise or step, with its pairs at or above the threshold.
#[derive(Debug, Clone)]
pub struct Section {
    pub item: String,
    pub kind: Kind,
    /// Hand-ins compared.
    pub compared: usize,
    /// Everyone compared: hand-ins with the same text are one member (so that a class
    /// where hundreds wrote the same answer costs one comparison, not a pair each),
    /// sorted by their first student.
    pub members: Vec<Member>,
    /// Hand-ins with code for this exercise that the gradebook does not hold the text
    /// of (graded by a Lectern from before the review): not compared.
    pub missing: usize,
    /// Pairs of members, ranked: highest score first, then by the members' order; the
    /// best [`MAX_PAIRS`] of them.
    pub pairs: Vec<Match>,
    /// Pairs of members at or above the threshold, all of them.
    pub total: usize,
    /// Groups of three or more students (members joined by listed pairs, or one member
    /// of three or more identical hand-ins), largest first.
    pub groups: Vec<Vec<usize>>,
}

/// Pairs kept and shown per exercise or step: where many hand-ins are alike, the pairs
/// grow with the square of the class; the groups (made from all of them) say the rest.
pub const MAX_PAIRS: usize = 1000;

/// What the finder found for one item, as kept in the gradebook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The best [`MAX_PAIRS`], ranked.
    pub pairs: Vec<Match>,
    /// Groups of three or more students, from every pair.
    pub groups: Vec<Vec<usize>>,
    /// Every pair at or above the threshold.
    pub total: usize,
}

/// One text and the students who handed it in, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Sorted; more than one when they handed in the same text.
    pub students: Vec<String>,
    pub text: String,
}

impl Member {
    /// How the page names the member: `s01`, or `s01 = s07 = s11` for identical hand-ins.
    pub fn label(&self) -> String {
        self.students.join(" = ")
    }
}

impl Section {
    /// Members of two or more identical hand-ins not already in a group: listed as pairs
    /// of their own (score 1).
    pub fn identical(&self) -> impl Iterator<Item = usize> + '_ {
        // A member of two students outside every group (a group has three or more).
        let grouped: std::collections::HashSet<usize> = self.groups.iter().flatten().copied().collect();
        (0..self.members.len()).filter(move |&i| self.members[i].students.len() == 2 && !grouped.contains(&i))
    }

    /// Pairs found: between members, and of identical hand-ins outside groups.
    pub fn listed(&self) -> usize {
        self.total + self.identical().count()
    }
}

/// The whole review.
#[derive(Debug, Clone)]
pub struct Review {
    pub threshold: f64,
    pub sections: Vec<Section>,
}

impl Review {
    /// Listed pairs in all sections.
    pub fn pairs(&self) -> usize {
        self.sections.iter().map(Section::listed).sum()
    }

    /// What `report.html` says of the review: per item, (item, pairs, groups).
    pub fn summary(&self) -> Summary {
        Summary { threshold: self.threshold, items: self.sections.iter().map(|s| (s.item.clone(), s.listed(), s.groups.len())).collect() }
    }
}

/// The review in brief, for `report.html`'s link to `similarity.html`.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub threshold: f64,
    /// (item, pairs listed, groups of three or more).
    pub items: Vec<(String, usize, usize)>,
}

/// Compares what the class handed in, item by item, re-using what `store` kept when the
/// texts, the finder and the threshold are the same, and keeping what it computes.
///
/// # Errors
/// [`GradeError::Database`] when the gradebook cannot be read or written;
/// [`GradeError::Similarity`] when the finder fails.
pub fn review(class: &Class, store: &Store, finder: &dyn SimilarityFinder, threshold: f64) -> Result<Review, GradeError> {
    let code_texts = store.code_texts()?;
    let mut sections = Vec::new();
    for item in &class.key.items {
        let kind = match item.kind.as_str() {
            "exercise" => Kind::Code,
            "challenge step" => Kind::Text,
            _ => continue,
        };
        let mut missing = 0;
        let mut members: Vec<(String, String)> = class
            .graded()
            .filter_map(|r| {
                let result = r.results.iter().find(|x| x.item == item.id)?;
                let text = match kind {
                    // An exercise's answer is its code's hash; the code is kept beside.
                    Kind::Code if result.answer.is_empty() => return None,
                    Kind::Code => match code_texts.get(&result.answer) {
                        Some(text) => text.clone(),
                        None => {
                            missing += 1;
                            return None;
                        }
                    },
                    Kind::Text => result.answer.clone(),
                };
                (!text.trim().is_empty()).then(|| (r.student.clone(), text))
            })
            .collect();
        members.sort();
        members.dedup_by(|a, b| a.0 == b.0);
        let compared = members.len();
        let members = merge_identical(members);
        let inputs = inputs_key(&finder.fingerprint(), threshold, item.starter.as_deref(), &members);
        let sizes: Vec<usize> = members.iter().map(|m| m.students.len()).collect();
        // A kept result is re-used only if it fits these members.
        let kept = store.similarity(&item.id, &inputs)?.filter(|f| {
            f.pairs.iter().all(|m| m.a < m.b && m.b < members.len()) && f.groups.iter().flatten().all(|&x| x < members.len())
        });
        let found = match kept {
            Some(found) => found,
            None => {
                let texts: Vec<&str> = members.iter().map(|m| m.text.as_str()).collect();
                let found = match kind {
                    Kind::Code => finder.code(item.starter.as_deref(), &texts, threshold),
                    Kind::Text => finder.text(&texts, threshold),
                }
                .map_err(|message| GradeError::Similarity { item: item.id.clone(), message })?;
                let mut pairs: Vec<Match> = found.into_iter().filter(|m| m.score >= threshold && m.a < m.b && m.b < texts.len()).collect();
                pairs.sort_by(|x, y| y.score.total_cmp(&x.score).then((x.a, x.b).cmp(&(y.a, y.b))));
                // Groups from every pair; only the best pairs are kept and shown.
                let groups = groups(&sizes, &pairs);
                let total = pairs.len();
                pairs.truncate(MAX_PAIRS);
                let found = Found { pairs, groups, total };
                store.set_similarity(&item.id, &inputs, &found)?;
                found
            }
        };
        let Found { pairs, groups, total } = found;
        sections.push(Section { item: item.id.clone(), kind, compared, members, missing, pairs, total, groups });
    }
    Ok(Review { threshold, sections })
}

/// The key a review of `members` is kept under: SHA-256 over every part, each preceded
/// by its length (so that no text can pass for another split of the same bytes).
fn inputs_key(fingerprint: &str, threshold: f64, starter: Option<&str>, members: &[Member]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    part(fingerprint.as_bytes());
    part(&threshold.to_bits().to_le_bytes());
    part(starter.unwrap_or_default().as_bytes());
    part(&(members.len() as u64).to_le_bytes());
    for member in members {
        part(&(member.students.len() as u64).to_le_bytes());
        for student in &member.students {
            part(student.as_bytes());
        }
        part(member.text.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// (student, text) sorted by student → one member per distinct text, sorted by first
/// student.
fn merge_identical(members: Vec<(String, String)>) -> Vec<Member> {
    let mut by_text: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (student, text) in members {
        by_text.entry(text).or_default().push(student);
    }
    let mut out: Vec<Member> = by_text.into_iter().map(|(text, students)| Member { students, text }).collect();
    out.sort_by(|a, b| a.students.cmp(&b.students));
    out
}

/// Connected groups of members joined by `pairs` that hold three or more students
/// (`sizes[i]`: member `i`'s students), each sorted, largest first (then by first member).
fn groups(sizes: &[usize], pairs: &[Match]) -> Vec<Vec<usize>> {
    let n = sizes.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for m in pairs {
        let (a, b) = (root(&mut parent, m.a), root(&mut parent, m.b));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for x in 0..n {
        let r = root(&mut parent, x);
        by_root.entry(r).or_default().push(x);
    }
    let students = |g: &Vec<usize>| g.iter().map(|&x| sizes[x]).sum::<usize>();
    let mut out: Vec<Vec<usize>> = by_root.into_values().filter(|g| students(g) >= 3).collect();
    out.sort_by(|a, b| students(b).cmp(&students(a)).then(a.cmp(b)));
    out
}

const CSS: &str = "
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#2f6fb3;--mark:#fff1a8}
*{box-sizing:border-box}
body{margin:0 auto;max-width:80rem;padding:1.5rem;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans TC',sans-serif;color:var(--ink);background:#fff}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.25rem;margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.25rem 0 .4rem}
a{color:var(--accent)}
.note,.muted{color:var(--muted)}
.note{font-size:.9rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:.75rem}
.side{border:1px solid var(--line);border-radius:6px;overflow:auto;max-height:40rem}
.side h4{margin:0;padding:.3rem .6rem;background:var(--soft);font-size:.9rem;border-bottom:1px solid var(--line)}
pre{margin:0;padding:.4rem .6rem;font:.8rem/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word}
.ln{display:inline-block;min-width:2.5em;color:var(--muted);user-select:none}
mark{background:var(--mark);color:inherit}
.line-shared{background:var(--mark);display:block}
.line{display:block}
@media print{.side{max-height:none}}
";

/// `similarity.html`: one self-contained page (inline CSS, no scripts, no requests),
/// the same bytes for the same review.
pub fn render(review: &Review, course: &str) -> String {
    let mut h = String::with_capacity(32 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n<title>{} — similarity</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>Similarity</h1>\n<p class=\"note\">{} · <a href=\"report.html\">grading report</a></p>\n",
        esc(course),
        esc(course)
    );
    let _ = writeln!(
        h,
        "<p class=\"note\">For review, not a verdict: a high score says that two hand-ins share much of their structure (code: the kinds of tokens in order, with names and values ignored; text: runs of characters), not who copied whom or whether it was allowed. The exercise's starter code and what most of the class wrote do not count. A rewrite from scratch, or an answer paraphrased in other words, is not seen. Pairs are listed at a score of {} or more (<code>--similarity-threshold</code>); students never see this page.</p>",
        threshold_text(review.threshold)
    );
    h.push_str("<nav aria-label=\"Items\"><ul>");
    for (i, s) in review.sections.iter().enumerate() {
        let _ = write!(h, "<li><a href=\"#s{}\">{}</a>: {} pair{}, {} group{}</li>", i + 1, esc(&s.item), s.listed(), plural(s.listed()), s.groups.len(), plural(s.groups.len()));
    }
    h.push_str("</ul></nav>\n</header>\n<main>\n");
    if review.sections.is_empty() {
        h.push_str("<p class=\"muted\">The course has no exercises or challenge steps to compare.</p>\n");
    }
    for (i, s) in review.sections.iter().enumerate() {
        section(&mut h, i + 1, s);
    }
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// Rows of a group's table shown; the rest are counted.
const GROUP_ROWS: usize = 30;

fn section(h: &mut String, n: usize, s: &Section) {
    let what = match s.kind {
        Kind::Code => "exercise",
        Kind::Text => "challenge step",
    };
    let _ = writeln!(h, "<section id=\"s{n}\">\n<h2>{} <span class=\"muted\">({what}, {} hand-ins compared)</span></h2>", esc(&s.item), s.compared);
    if s.missing > 0 {
        let _ = writeln!(h, "<p class=\"note\">{} hand-in{} graded by an earlier Lectern, which did not keep the code: not compared (grade into a new folder to compare them).</p>", s.missing, plural(s.missing));
    }
    if s.listed() == 0 && s.groups.is_empty() {
        h.push_str("<p class=\"muted\">No pair at or above the threshold.</p>\n</section>\n");
        return;
    }
    let mut group_of = vec![usize::MAX; s.members.len()];
    for (g, group) in s.groups.iter().enumerate() {
        for &x in group {
            group_of[x] = g;
        }
    }
    if s.total > s.pairs.len() {
        let _ = writeln!(h, "<p class=\"note\">{} pairs reach the threshold; the best {} are shown, and the groups are made from all of them.</p>", s.total, s.pairs.len());
    }
    const HEAD: &str = "<table>\n<thead><tr><th>Student</th><th>Student</th><th class=\"num\">Shared (both)</th><th class=\"num\">Shared (smaller)</th></tr></thead>\n<tbody>\n";
    let in_group = |m: &Match| group_of[m.a] != usize::MAX && group_of[m.a] == group_of[m.b];
    for (g, group) in s.groups.iter().enumerate() {
        let students: usize = group.iter().map(|&x| s.members[x].students.len()).sum();
        let names: Vec<String> = group.iter().map(|&x| esc(&s.members[x].label())).collect();
        let _ = writeln!(h, "<h3 id=\"s{n}-g{}\">Group of {students}</h3>\n<p>{}</p>", g + 1, names.join(", "));
        let same: Vec<&Member> = group.iter().map(|&x| &s.members[x]).filter(|m| m.students.len() > 1).collect();
        for m in &same {
            let _ = writeln!(h, "<p class=\"note\">{} handed in the same {}.</p>", esc(&m.label()), same_what(s.kind));
        }
        let inside: Vec<&Match> = s.pairs.iter().filter(|m| group_of[m.a] == g && group_of[m.b] == g).collect();
        if !inside.is_empty() {
            h.push_str(HEAD);
            for m in inside.iter().take(GROUP_ROWS) {
                pair_row(h, s, m);
            }
            h.push_str("</tbody>\n</table>\n");
            if inside.len() > GROUP_ROWS {
                let _ = writeln!(h, "<p class=\"note\">… and {} more of the pairs shown in this group.</p>", inside.len() - GROUP_ROWS);
            }
            h.push_str("<p class=\"note\">The group's closest pair:</p>\n");
            sides(h, s, inside[0]);
        } else if let Some(m) = same.first() {
            let _ = write!(h, "<div class=\"side\"><h4>{}</h4><pre>", esc(&m.label()));
            whole_text(h, s.kind, &m.text);
            h.push_str("</pre></div>\n");
        }
    }
    let single: Vec<&Match> = s.pairs.iter().filter(|m| !in_group(m)).collect();
    let identical: Vec<usize> = s.identical().take(MAX_PAIRS).collect();
    if !single.is_empty() || !identical.is_empty() {
        let _ = writeln!(h, "<h3>Pairs</h3>");
        h.push_str(HEAD);
        for &i in &identical {
            let names = &s.members[i].students;
            let _ = writeln!(h, "<tr><td>{}</td><td>{}</td><td class=\"num\">100%</td><td class=\"num\">100%</td></tr>", esc(&names[0]), esc(&names[1]));
        }
        for m in &single {
            pair_row(h, s, m);
        }
        h.push_str("</tbody>\n</table>\n");
        for &i in &identical {
            let m = &s.members[i];
            let _ = writeln!(h, "<h4>{}: the same {}</h4>", esc(&m.students.join(" and ")), same_what(s.kind));
            let _ = write!(h, "<div class=\"side\"><h4>{}</h4><pre>", esc(&m.label()));
            whole_text(h, s.kind, &m.text);
            h.push_str("</pre></div>\n");
        }
        for m in single {
            let _ = writeln!(h, "<h4>{} and {}: {}</h4>", esc(&s.members[m.a].label()), esc(&s.members[m.b].label()), percent(m.score));
            sides(h, s, m);
        }
    }
    h.push_str("</section>\n");
}

fn pair_row(h: &mut String, s: &Section, m: &Match) {
    let _ = writeln!(
        h,
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        esc(&s.members[m.a].label()),
        esc(&s.members[m.b].label()),
        percent(m.score),
        // Text is scored over both sides only.
        if s.kind == Kind::Code { percent(m.over_smaller) } else { "—".to_owned() }
    );
}

/// A text shown whole, every line of it shared.
fn whole_text(h: &mut String, kind: Kind, text: &str) {
    match kind {
        Kind::Code => code_lines(h, text, &[(1, text.lines().count().max(1))]),
        Kind::Text => marked_text(h, text, &[(0, text.len())]),
    }
}

/// Both hand-ins side by side, the shared fragments marked.
fn sides(h: &mut String, s: &Section, m: &Match) {
    h.push_str("<div class=\"sides\">\n");
    for (who, ranges) in [(m.a, m.shared.iter().map(|x| x.0).collect::<Vec<_>>()), (m.b, m.shared.iter().map(|x| x.1).collect())] {
        let member = &s.members[who];
        let _ = write!(h, "<div class=\"side\"><h4>{}</h4><pre>", esc(&member.label()));
        match s.kind {
            Kind::Code => code_lines(h, &member.text, &ranges),
            Kind::Text => marked_text(h, &member.text, &ranges),
        }
        h.push_str("</pre></div>\n");
    }
    h.push_str("</div>\n");
}

/// Numbered lines; those inside a shared range (1-based, inclusive) marked.
fn code_lines(h: &mut String, text: &str, ranges: &[(usize, usize)]) {
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let shared = ranges.iter().any(|&(a, b)| (a..=b).contains(&n));
        let class = if shared { "line-shared" } else { "line" };
        let _ = write!(h, "<span class=\"{class}\"><span class=\"ln\">{n}</span>{}</span>", esc(line));
    }
}

/// The text with shared byte ranges in `<mark>`; ranges that are not on character
/// boundaries, overlap or run past the end are ignored.
fn marked_text(h: &mut String, text: &str, ranges: &[(usize, usize)]) {
    let mut ranges: Vec<(usize, usize)> = ranges.iter().copied().filter(|&(a, b)| a < b && b <= text.len() && text.is_char_boundary(a) && text.is_char_boundary(b)).collect();
    ranges.sort_unstable();
    let mut at = 0;
    for (a, b) in ranges {
        if a < at {
            continue;
        }
        h.push_str(&esc(&text[at..a]));
        let _ = write!(h, "<mark>{}</mark>", esc(&text[a..b]));
        at = b;
    }
    h.push_str(&esc(&text[at..]));
}

/// What identical members share: code byte for byte; answers as the gradebook keeps them
/// (spaces at either end aside, and only their first 2,000 characters).
fn same_what(kind: Kind) -> &'static str {
    match kind {
        Kind::Code => "code, byte for byte",
        Kind::Text => "answer (as kept: spaces at either end aside, up to 2,000 characters)",
    }
}

fn percent(x: f64) -> String {
    format!("{:.0}%", (x * 100.0).clamp(0.0, 100.0))
}

/// The threshold as given (shortest form that reads back the same; never `-0`).
fn threshold_text(x: f64) -> String {
    if x == 0.0 { "0".to_owned() } else { format!("{x}") }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(a: usize, b: usize) -> Match {
        Match { a, b, score: 0.5, over_smaller: 0.5, shared: Vec::new() }
    }

    #[test]
    fn groups_of_three_or_more_students_are_joined() {
        let pairs = [m(0, 1), m(1, 2), m(3, 4), m(5, 6), m(6, 7), m(7, 8)];
        assert_eq!(groups(&[1; 9], &pairs), vec![vec![5, 6, 7, 8], vec![0, 1, 2]]);
        // A member of three identical hand-ins is a group alone; two members of one and
        // two students make one of three.
        assert_eq!(groups(&[3, 1, 2, 1], &[m(1, 2)]), vec![vec![0], vec![1, 2]]);
        assert_eq!(groups(&[2, 1], &[]), Vec::<Vec<usize>>::new());
    }

    #[test]
    fn identical_texts_are_one_member() {
        let members = vec![("a".into(), "x".into()), ("b".into(), "y".into()), ("c".into(), "x".into())];
        let merged = merge_identical(members);
        assert_eq!(merged, vec![Member { students: vec!["a".into(), "c".into()], text: "x".into() }, Member { students: vec!["b".into()], text: "y".into() }]);
        assert_eq!(merged[0].label(), "a = c");
    }

    #[test]
    fn marked_text_escapes_and_ignores_bad_ranges() {
        let mut h = String::new();
        marked_text(&mut h, "<b>注意力</b> x", &[(3, 12), (4, 5), (0, 99)]);
        assert_eq!(h, "&lt;b&gt;<mark>注意力</mark>&lt;/b&gt; x");
    }
}

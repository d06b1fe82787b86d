//! Challenge steps by rubric: each item's points when one of its phrases or patterns
//! matches, feedback for each item missed, and a flag for a human where the grade is
//! uncertain.

use crate::key::RubricEntry;
use lectern_lesson::answer::fold;
use crate::quiz::number;
use crate::{Detail, ItemResult};

/// Answers with fewer non-space characters than this are flagged as very short.
pub const SHORT_ANSWER_CHARS: usize = 12;
/// Share of an answer's character 5-grams found in the published solution above which
/// the answer is flagged as a near-copy.
pub const NEAR_COPY: f64 = 0.8;

/// The version of the rules below; part of the key's fingerprint, so that a change of
/// rules regrades every step.
pub const RULES: &str = "rubric-3 (negation with copulas and clause-breaking dashes, keyword lists)";

/// Share of an answer's content characters made up by the rubric's phrases at or above
/// which it is flagged as "mostly the rubric's phrases".
pub const PHRASE_SHARE: f64 = 0.5;

/// Grades one step's answer (`None`: the hand-in has none).
///
/// An item earns its points when one of its phrases or patterns occurs in the folded
/// answer outside the scope of a negation ([`negated`]): `not cross-attention` earns
/// nothing and is flagged for review. The answer is flagged as a list of keywords when
/// the rubric's phrases make up [`PHRASE_SHARE`] of its text or more, or when it is
/// short pieces each holding a phrase ([`keyword_list`]).
pub fn grade_step(id: &str, rubric: &[RubricEntry], solution: &Grams, max: f64, answer: Option<&toml::Value>) -> ItemResult {
    let mut result = ItemResult {
        item: id.to_owned(),
        score: 0.0,
        max_score: max,
        answer: String::new(),
        feedback: Vec::new(),
        flag: None,
        detail: Detail::Rubric { hits: vec![false; rubric.len()] },
        overridden: None,
    };
    let Some(answer) = answer else {
        result.feedback.push(format!("{id}: no answer."));
        return result;
    };
    let toml::Value::String(text) = answer else {
        result.answer = crate::quiz::capped(answer);
        result.feedback.push(format!("{id}: expected a text answer, found `{}`; scored 0.", result.answer));
        result.flag = Some("the answer is not text".to_owned());
        return result;
    };
    result.answer = text.trim().chars().take(2000).collect();
    let answer = crate::key::Answer::new(text);
    let folded = &answer.folded;
    let mut hits = Vec::with_capacity(rubric.len());
    let mut by_hand = false;
    let mut under_negation = Vec::new();
    let mut covered = vec![false; folded.len()];
    let words = words(folded);
    for item in rubric {
        by_hand |= item.accept.is_empty();
        let spans: Vec<_> = item.accept.iter().flat_map(|m| m.spans(&answer)).collect();
        for span in &spans {
            covered[span.clone()].iter_mut().for_each(|c| *c = true);
        }
        let free = spans.iter().find(|span| negated(folded, &words, span).is_none());
        // A pattern that only matches the answer as written (full-width punctuation)
        // has no span to judge; it earns as before.
        let written_only = spans.is_empty() && item.accept.iter().any(|m| m.find_in(&answer));
        let hit = free.is_some() || written_only;
        if !hit
            && let Some(cue) = spans.iter().find_map(|span| negated(folded, &words, span).map(|cue| (cue, &folded[span.clone()]))) {
                under_negation.push(format!("`{}` … `{}`", cue.0, cue.1));
            }
        if hit {
            result.score += item.points;
        } else if !item.feedback.is_empty() {
            result.feedback.push(format!("{id}: {} (−{})", item.feedback, number(item.points)));
        }
        hits.push(hit);
    }
    let chars = folded.chars().filter(|c| !c.is_whitespace()).count();
    let copied = solution.share_of(folded);
    let content = content_chars(folded, |_| true);
    let phrase_share = if content == 0 { 0.0 } else { content_chars(folded, |at| covered[at]) as f64 / content as f64 };
    let mut flags = Vec::new();
    if chars == 0 {
        flags.push("empty answer".to_owned());
    } else if chars < SHORT_ANSWER_CHARS {
        flags.push(format!("very short answer ({chars} characters)"));
    }
    if copied >= NEAR_COPY {
        flags.push(format!("near-copy of the published solution ({:.0}% of its 5-grams)", copied * 100.0));
    }
    if !under_negation.is_empty() {
        flags.push(format!("a rubric phrase under negation earned nothing: {}", under_negation.join(", ")));
    }
    if phrase_share >= PHRASE_SHARE && chars >= SHORT_ANSWER_CHARS {
        flags.push(format!("mostly the rubric's phrases ({:.0}% of its text)", phrase_share * 100.0));
    } else if keyword_list(folded, &covered) {
        flags.push("a list of keywords rather than sentences".to_owned());
    }
    if by_hand {
        flags.push("a rubric item is graded by hand".to_owned());
    }
    if !rubric.is_empty() && chars > 0 && !hits.iter().any(|h| *h) && under_negation.is_empty() {
        flags.push("matches no rubric item".to_owned());
    }
    result.flag = (!flags.is_empty()).then(|| flags.join("; "));
    if hits.iter().all(|h| *h) && !rubric.is_empty() {
        result.feedback.push(format!("{id}: every rubric item met."));
    }
    result.detail = Detail::Rubric { hits };
    result
}

/// How many content characters (letters and digits) of `folded` satisfy `keep`, given
/// each character's byte offset.
fn content_chars(folded: &str, keep: impl Fn(usize) -> bool) -> usize {
    folded.char_indices().filter(|(at, c)| c.is_alphanumeric() && keep(*at)).count()
}

// CJK text is written without spaces between words: there each letter counts as a word.
use lectern_lesson::cjk::is_letter as is_cjk;

/// Ends a clause: a negation never reaches across one.
fn ends_clause(c: char) -> bool {
    matches!(c, '.' | ';' | '!' | '?' | ',' | ':' | '。' | '；' | '！' | '？' | '，' | '、' | '：' | '\n' | '(' | ')' | '（' | '）')
}

/// Words that end a clause too (`but`, `但`, …): `not A but B` does not negate B.
const CLAUSE_WORDS: &[&str] = &["but", "however", "whereas", "while", "instead", "但", "但是", "可是", "然而", "而是", "而", "不過", "不过"];

/// Negation cues, English and Chinese. English cues are whole words (`n't` ends one);
/// Chinese cues are characters or pairs of them.
const NEGATIONS_EN: &[&str] = &["not", "no", "never", "without", "none", "neither", "nor", "cannot", "nothing", "isnt", "dont", "doesnt", "cant", "wont", "arent", "didnt", "wasnt"];
const NEGATIONS_ZH: &[&str] = &["並非", "并非", "沒有", "没有", "不", "非", "無", "无", "未", "沒", "没"];
/// Words that begin with a cue and negate nothing: `not only`, `no doubt`, `不同`
/// (different), `非常` (very), `無疑` (undoubtedly), `不可或缺` (indispensable).
const NOT_NEGATIONS: &[&str] = &[
    "not only", "not just", "not to mention", "no matter", "no doubt", "none other", "cannot be overstated", "never the less",
    "不同", "不僅", "不仅", "不只", "不斷", "不断", "不少", "不管", "不錯", "不错", "不過", "不过", "不可或缺", "不可避免", "非常", "無論", "无论", "無疑", "无疑", "無限", "无限", "未來", "未来",
];
/// Words that, right before an English cue after the phrase, make the cue deny it:
/// `X is not …`, `X does not …`, `X will never …` (a contraction such as `isn't`
/// carries its own).
const COPULAS: &[&str] = &["is", "are", "was", "were", "be", "been", "being", "does", "do", "did", "has", "have", "had", "can", "could", "will", "would", "should", "may", "might", "must", "really", "actually", "simply", "also", "still", "just"];

/// How many words a negation reaches before the phrase (`not really about X`,
/// `不是因為X`), and after it: Chinese cues ([`REACH_AFTER_ZH`] characters, `X並非…`,
/// `X幾乎無…`) and English ones after a copula or as a contraction ([`REACH_AFTER`]
/// words, `X over the long input is not …`, `X isn't …`).
const REACH_BEFORE: usize = 6;
const REACH_AFTER: usize = 6;
const REACH_AFTER_ZH: usize = 3;

/// The negation cue whose scope covers the phrase at `span` of the folded answer, if
/// any (see [`REACH_BEFORE`]); `words` are the answer's [`words`], made once per
/// answer. A cue inside the phrase itself (a pattern such as
/// `/without[^.]*fine-?tun/`) is the phrase's own.
pub fn negated<'a>(folded: &'a str, words: &[Word], span: &std::ops::Range<usize>) -> Option<&'a str> {
    let first = words.partition_point(|w| w.range.end <= span.start);
    if first >= words.len() {
        return None;
    }
    let last = words.partition_point(|w| w.range.start < span.end).saturating_sub(1).max(first);
    // Back from the phrase, then forward from it, within the clause and the reach.
    for (n, w) in words[..first].iter().rev().enumerate() {
        if w.ends_clause || n >= REACH_BEFORE {
            break;
        }
        if let Some(cue) = cue(folded, w) {
            return Some(cue);
        }
    }
    let mut previous: Option<&str> = None;
    for (n, w) in words[last + 1..].iter().enumerate() {
        if w.ends_clause || n >= REACH_AFTER {
            break;
        }
        let text = &folded[w.range.clone()];
        if let Some(cue) = cue(folded, w) {
            let chinese = text.chars().next().is_some_and(is_cjk);
            let english_denies = text.ends_with("n't") || matches!(text, "isnt" | "dont" | "doesnt" | "cant" | "wont" | "arent" | "didnt" | "wasnt" | "cannot") || previous.is_some_and(|p| COPULAS.contains(&p));
            if (chinese && n < REACH_AFTER_ZH) || (!chinese && english_denies) {
                return Some(cue);
            }
        }
        previous = Some(text);
    }
    None
}

/// The negation cues of a folded answer, in order (what [`negated`] looks for): two
/// answers that differ by a `not` are not the same answer.
pub fn cues(folded: &str) -> Vec<&str> {
    words(folded).iter().filter_map(|w| cue(folded, w)).collect()
}

#[derive(Debug)]
pub struct Word {
    range: std::ops::Range<usize>,
    /// A clause boundary (punctuation, or a word such as `but`) rather than a word.
    ends_clause: bool,
}

/// The folded answer as words: runs of letters, digits and apostrophes; each CJK
/// character alone; each clause-ending mark alone.
pub fn words(folded: &str) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut start: Option<usize> = None;
    let close = |out: &mut Vec<Word>, start: &mut Option<usize>, end: usize| {
        if let Some(s) = start.take() {
            let ends_clause = CLAUSE_WORDS.contains(&&folded[s..end]);
            out.push(Word { range: s..end, ends_clause });
        }
    };
    for (at, c) in folded.char_indices() {
        if is_cjk(c) {
            close(&mut out, &mut start, at);
            out.push(Word { range: at..at + c.len_utf8(), ends_clause: false });
        } else if c.is_alphanumeric() || c == '\'' || c == '-' {
            start.get_or_insert(at);
        } else {
            close(&mut out, &mut start, at);
            if ends_clause(c) {
                out.push(Word { range: at..at + c.len_utf8(), ends_clause: true });
            }
        }
    }
    close(&mut out, &mut start, folded.len());
    // Chinese clause words are one or two characters: mark them where they stand.
    for i in 0..out.len() {
        for w in CLAUSE_WORDS.iter().filter(|w| w.chars().next().is_some_and(is_cjk)) {
            if folded[out[i].range.start..].starts_with(w) && (w.chars().count() > 1 || !folded[out[i].range.start..].starts_with("而且")) {
                out[i].ends_clause = true;
            }
        }
    }
    out
}

/// The negation cue that `word` is or begins, unless what follows makes it no negation.
fn cue<'a>(folded: &'a str, word: &Word) -> Option<&'a str> {
    let text = &folded[word.range.clone()];
    let rest = &folded[word.range.start..];
    if NOT_NEGATIONS.iter().any(|n| rest.starts_with(n)) {
        return None;
    }
    if NEGATIONS_ZH.iter().any(|n| rest.starts_with(n) && n.starts_with(text)) {
        return Some(text);
    }
    let english = NEGATIONS_EN.contains(&text) || text.ends_with("n't");
    if english {
        let after = folded[word.range.end..].trim_start();
        if text.ends_with("n't") && after.starts_with("need") {
            return None;
        }
        return Some(text);
    }
    None
}

/// Whether the answer is a list of keywords: at least three pieces between clause
/// marks, and most pieces (two thirds) short (at most three words) and holding a
/// rubric phrase.
fn keyword_list(folded: &str, covered: &[bool]) -> bool {
    let pieces: Vec<&str> = folded.split(|c: char| ends_clause(c) || c == '/' || c == '|').map(str::trim).filter(|p| !p.is_empty()).collect();
    if pieces.len() < 3 {
        return false;
    }
    let short_with_phrase = pieces
        .iter()
        .filter(|p| {
            let at = p.as_ptr() as usize - folded.as_ptr() as usize;
            let n = words(p).len();
            n <= 3 && (at..at + p.len()).any(|i| covered[i])
        })
        .count();
    short_with_phrase * 3 >= pieces.len() * 2
}

/// The character 5-grams (white space ignored) of a published solution, made once per
/// batch, to tell how much of an answer is copied from it.
#[derive(Debug, Default)]
pub struct Grams(std::collections::HashSet<[char; GRAM]>);

const GRAM: usize = 5;

fn grams(text: &str) -> Vec<[char; GRAM]> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    chars.windows(GRAM).map(|w| [w[0], w[1], w[2], w[3], w[4]]).collect()
}

impl Grams {
    /// The 5-grams of `solution` (folded here).
    pub fn of(solution: &str) -> Grams {
        Grams(grams(&fold(solution)).into_iter().collect())
    }

    /// The share of the folded `answer`'s 5-grams that occur in the solution.
    pub fn share_of(&self, answer: &str) -> f64 {
        let a = grams(answer);
        if a.is_empty() || self.0.is_empty() {
            return 0.0;
        }
        a.iter().filter(|g| self.0.contains(*g)).count() as f64 / a.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::{negated, Grams};
    use lectern_lesson::answer::fold;

    /// The cue negating `phrase` in `text`, if any.
    fn cue(text: &str, phrase: &str) -> Option<String> {
        let folded = fold(text);
        let at = folded.find(phrase).unwrap_or_else(|| panic!("`{phrase}` in `{folded}`"));
        negated(&folded, &super::words(&folded), &(at..at + phrase.len())).map(str::to_owned)
    }

    #[test]
    fn every_negation_cue_negates_a_phrase_in_its_clause() {
        for (text, phrase, want) in [
            ("It is not cross-attention.", "cross-attention", "not"),
            ("There is no kv cache here", "kv cache", "no"),
            ("They never use a kv cache", "kv cache", "never"),
            ("Decoders don't use cross-attention", "cross-attention", "don't"),
            ("Decoders don’t use cross-attention", "cross-attention", "don't"),
            ("They run without any kv cache", "kv cache", "without"),
            ("The encoder is not the bottleneck", "encoder", "not"),
            ("cross-attention isn't costly", "cross-attention", "isn't"),
            ("不是因為交叉注意力", "交叉注意力", "不"),
            ("模型沒有湧現能力", "湧現", "沒"),
            ("模型没有涌现能力", "涌现", "没"),
            ("這和擴展法則無關", "擴展法則", "無"),
            ("并非因为缩放定律", "缩放定律", "非"),
            ("並非規模定律的緣故", "規模定律", "非"),
            ("編碼器並非瓶頸", "編碼器", "並"),
            ("這是非統一的處理", "統一", "非"),
            // A denial after the phrase, through a copula, however far the subject runs.
            ("Cross-attention over the long input is not the main bottleneck", "cross-attention", "not"),
            ("There is no need to invoke scaling laws here", "scaling law", "no"),
            ("交叉注意力幾乎無額外成本", "交叉注意力", "無"),
        ] {
            assert_eq!(cue(text, phrase).as_deref().map(|c| c.chars().next()), Some(want.chars().next()), "{text}");
        }
    }

    #[test]
    fn what_is_no_negation_is_not_taken_for_one() {
        for (text, phrase) in [
            // Another clause.
            ("It is not slow, but cross-attention costs a lot", "cross-attention"),
            ("Not the decoder. The encoder must read everything", "encoder"),
            ("不是解碼器的問題，交叉注意力才是瓶頸", "交叉注意力"),
            // Words that begin with a cue and negate nothing.
            ("not only the encoder but also cross-attention", "encoder"),
            ("it works zero-shot with no need to fine-tune", "zero-shot"),
            ("不同於編碼器-解碼器，僅解碼器統一處理", "統一"),
            ("交叉注意力非常耗時", "交叉注意力"),
            // Too far before the phrase.
            ("Nothing here is simple: in fact the model has to push the whole input through the encoder", "encoder"),
            // The cue is the phrase's own.
            ("used without task-specific fine-tuning", "without task-specific fine-tuning"),
            // A cue after the phrase without a copula negates what follows it.
            ("it works zero-shot, no need to fine-tune", "zero-shot"),
            ("zero-shot with no task-specific fine-tuning", "zero-shot"),
            // An em dash breaks the clause.
            ("The encoder is not the bottleneck—cross-attention over all of it is", "cross-attention"),
            // Characters that hold a cue but negate nothing.
            ("特別是交叉注意力的成本", "交叉注意力"),
            ("區別在於交叉注意力", "交叉注意力"),
            ("交叉注意力無疑是瓶頸", "交叉注意力"),
            ("不過交叉注意力才是瓶頸", "交叉注意力"),
        ] {
            assert_eq!(cue(text, phrase), None, "{text}");
        }
    }

    /// Negation is judged in one pass over the answer's words: an answer as long as a
    /// hand-in may be (hundreds of kilobytes, every phrase negated) grades at once.
    #[test]
    fn a_long_answer_of_negated_phrases_is_graded_in_one_pass() {
        use crate::key::{Matcher, RubricEntry};
        let rubric = vec![RubricEntry { points: 1.0, feedback: String::new(), accept: vec![Matcher::Phrase("encoder".into())] }];
        let text = "no encoder ".repeat(20_000);
        let r = super::grade_step("s", &rubric, &Grams::default(), 1.0, Some(&toml::Value::String(text)));
        assert_eq!(r.score, 0.0);
    }

    #[test]
    fn keyword_lists_and_phrase_heavy_answers_are_flagged() {
        use crate::key::{Matcher, RubricEntry};
        let rubric: Vec<RubricEntry> = ["encoder", "cross-attention", "uniform", "kv cache"]
            .iter()
            .map(|p| RubricEntry { points: 1.0, feedback: String::new(), accept: vec![Matcher::Phrase((*p).to_owned())] })
            .collect();
        let grade = |text: &str| super::grade_step("s", &rubric, &Grams::default(), 4.0, Some(&toml::Value::String(text.into())));
        for text in ["encoder cross-attention uniform kv cache", "Encoder; cross-attention; uniform; KV cache; speed; memory", "Keywords: encoder / cross-attention / uniform / kv cache / latency"] {
            let r = grade(text);
            assert!(r.flag.as_deref().is_some_and(|f| f.contains("rubric's phrases") || f.contains("list of keywords")), "{text}: {:?}", r.flag);
        }
        let sentence = grade("The encoder must read the whole long input first, and then the decoder attends to all of it with cross-attention at every step; a decoder-only model treats prompt and output in one uniform stack, and its kv cache keeps each step cheap.");
        assert_eq!((sentence.score, sentence.flag), (4.0, None));
    }

    #[test]
    fn the_copied_share_counts_shared_five_grams() {
        assert_eq!(Grams::of("xxabcdefgxx").share_of("abcdefg"), 1.0);
        assert_eq!(Grams::of("zzzzzzz").share_of("abcdefg"), 0.0);
        assert!((Grams::of("abcde").share_of("abcdezzz") - 0.25).abs() < 1e-12);
        assert_eq!(Grams::of("abc").share_of("abc"), 0.0);
        assert_eq!(Grams::of("ABC DE").share_of("abcde"), 1.0);
    }
}

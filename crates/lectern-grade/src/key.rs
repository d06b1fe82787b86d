//! The answer key, compiled once per batch from the course: every gradable item in
//! reading order, regexes built, phrases folded, and a fingerprint that changes
//! when (and only when) something that affects a grade changes.

use std::collections::HashMap;

use lectern_lesson::model::{Accept, Block, ChoicePolicy, Course, Exercise, QuizAnswer, Tolerance};
use serde::Serialize;

use lectern_lesson::answer::fold;

/// The compiled key of a course.
#[derive(Debug)]
pub struct Key {
    /// Every gradable item in reading order: quizzes and challenge steps as the lessons
    /// hold them, each exercise where it is first embedded, the others last.
    pub items: Vec<Item>,
    /// Hex digest of everything that affects a grade.
    pub fingerprint: String,
    /// Lesson ID → (quiz ID → item index).
    pub(crate) quizzes: HashMap<String, HashMap<String, usize>>,
    /// Lesson ID → (challenge ID → (step ID → item index)).
    pub(crate) steps: HashMap<String, HashMap<String, HashMap<String, usize>>>,
    /// Where each quiz and challenge ID lives, to say so when a hand-in files one under
    /// another lesson.
    pub(crate) home: HashMap<String, String>,
}

#[derive(Debug)]
pub struct Item {
    /// `q1`, `bottleneck/step1`, `attention`: unique in the course, the gradebook column.
    pub id: String,
    /// The lesson holding it (exercises: where it is first embedded, if anywhere).
    pub lesson: Option<String>,
    pub max_points: f64,
    pub kind: ItemKind,
}

#[derive(Debug)]
pub enum ItemKind {
    Choice { options: Vec<ChoiceOption>, policy: ChoicePolicy, multiple: bool },
    Numeric { answer: f64, tolerance: Tolerance, unit: Option<String> },
    Text { accept: Vec<Matcher> },
    Step { rubric: Vec<RubricEntry>, solution: crate::rubric::Grams },
    Exercise(Box<Exercise>),
}

impl ItemKind {
    /// The short name the report and gradebook use.
    pub fn name(&self) -> &'static str {
        match self {
            ItemKind::Choice { multiple: false, .. } => "single choice",
            ItemKind::Choice { multiple: true, .. } => "multiple choice",
            ItemKind::Numeric { .. } => "numeric",
            ItemKind::Text { .. } => "text",
            ItemKind::Step { .. } => "challenge step",
            ItemKind::Exercise(_) => "exercise",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChoiceOption {
    pub letter: char,
    pub correct: bool,
    /// Inline Markdown, as the author wrote it (for the report).
    pub text: String,
}

#[derive(Debug)]
pub struct RubricEntry {
    pub points: f64,
    pub feedback: String,
    pub accept: Vec<Matcher>,
}

/// One accepted phrase or pattern, ready to match folded answers.
#[derive(Debug)]
pub enum Matcher {
    /// Already folded.
    Phrase(String),
    Regex(regex::Regex),
}

impl Matcher {
    fn compile(accept: &Accept) -> Matcher {
        match accept {
            Accept::Phrase(p) => Matcher::Phrase(fold(p)),
            // The lesson crate has checked the syntax; answers are compared case folded,
            // so the pattern is too. A pattern the engine still refuses (too big) can
            // match nothing rather than stop the batch.
            Accept::Regex(r) => match lectern_lesson::answer::compile_pattern(r) {
                Ok(re) => Matcher::Regex(re),
                Err(_) => Matcher::Regex(regex::Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!())),
            },
        }
    }

    /// Whether the answer contains the phrase (compared folded (the answer contract)), or the pattern finds
    /// a match in the folded answer or, for a pattern written with characters NFKC
    /// would change (full-width punctuation), in the answer as written.
    pub fn find_in(&self, answer: &Answer<'_>) -> bool {
        match self {
            Matcher::Phrase(p) => !p.is_empty() && answer.folded.contains(p.as_str()),
            Matcher::Regex(re) => re.is_match(&answer.folded) || re.is_match(answer.written),
        }
    }

    /// Where the phrase or pattern occurs in the folded answer, as byte ranges of
    /// `answer.folded` (a pattern that only matches the answer as written has none).
    pub fn spans(&self, answer: &Answer<'_>) -> Vec<std::ops::Range<usize>> {
        match self {
            Matcher::Phrase(p) if p.is_empty() => Vec::new(),
            Matcher::Phrase(p) => answer.folded.match_indices(p.as_str()).map(|(at, m)| at..at + m.len()).collect(),
            Matcher::Regex(re) => re.find_iter(&answer.folded).filter(|m| !m.is_empty()).map(|m| m.range()).collect(),
        }
    }

    /// Whether the answer is the phrase (compared folded (the answer contract)), or the pattern finds a
    /// match (as for [`Matcher::find_in`]).
    pub fn accepts_whole(&self, answer: &Answer<'_>) -> bool {
        match self {
            Matcher::Phrase(p) => answer.folded == *p,
            Matcher::Regex(re) => re.is_match(&answer.folded) || re.is_match(answer.written),
        }
    }
}

/// An answer as matchers see it: folded, and as the student wrote it (trimmed).
#[derive(Debug)]
pub struct Answer<'a> {
    pub folded: String,
    pub written: &'a str,
}

impl<'a> Answer<'a> {
    pub fn new(text: &'a str) -> Answer<'a> {
        Answer { folded: fold(text), written: text.trim() }
    }
}

/// What the fingerprint is made of: every field that can change a grade, no prose.
#[derive(Serialize)]
struct Fingerprint<'a> {
    version: &'static str,
    /// The free-text rules in force ([`crate::rubric::RULES`]): a change regrades steps.
    rules: &'static str,
    items: Vec<FingerprintItem<'a>>,
}

#[derive(Serialize)]
struct FingerprintItem<'a> {
    id: &'a str,
    lesson: Option<&'a str>,
    points: f64,
    answer: Option<&'a QuizAnswer>,
    /// The multiple-choice policy in force (the course default when the quiz names none).
    policy: Option<ChoicePolicy>,
    /// Points, accepted phrases and the feedback students read, per rubric item.
    rubric: Vec<(f64, &'a [Accept], &'a str)>,
    solution: Option<String>,
    exercise: Option<ExerciseFingerprint<'a>>,
}

#[derive(Serialize)]
struct ExerciseFingerprint<'a> {
    entry: &'a str,
    function: &'a str,
    reference: &'a str,
    cases: &'a [lectern_lesson::model::Case],
    checks: &'a [lectern_lesson::model::Check],
}

impl Key {
    pub fn new(course: &Course) -> Key {
        let mut key = Key { items: Vec::new(), fingerprint: String::new(), quizzes: HashMap::new(), steps: HashMap::new(), home: HashMap::new() };
        let mut fingerprint = Fingerprint { version: env!("CARGO_PKG_VERSION"), rules: crate::rubric::RULES, items: Vec::new() };
        let mut embedded = Vec::new();
        for lesson in &course.lessons {
            walk(&lesson.blocks, &mut |block| match block {
                Block::Quiz(q) => {
                    let kind = match &q.answer {
                        QuizAnswer::Choice { options, policy } => ItemKind::Choice {
                            options: options.iter().map(|o| ChoiceOption { letter: o.letter, correct: o.correct, text: o.text.clone() }).collect(),
                            policy: policy.unwrap_or(course.config.grading.multiple_choice),
                            multiple: q.answer.is_multiple_choice(),
                        },
                        QuizAnswer::Numeric { answer, tolerance, unit } => ItemKind::Numeric { answer: *answer, tolerance: *tolerance, unit: unit.clone() },
                        QuizAnswer::Text { accept } => ItemKind::Text { accept: accept.iter().map(Matcher::compile).collect() },
                    };
                    key.quizzes.entry(lesson.id.clone()).or_default().insert(q.id.clone(), key.items.len());
                    key.home.insert(q.id.clone(), lesson.id.clone());
                    let policy = if let ItemKind::Choice { policy, .. } = &kind { Some(*policy) } else { None };
                    fingerprint.items.push(FingerprintItem { id: &q.id, lesson: Some(&lesson.id), points: q.points, answer: Some(&q.answer), policy, rubric: Vec::new(), solution: None, exercise: None });
                    key.items.push(Item { id: q.id.clone(), lesson: Some(lesson.id.clone()), max_points: q.points, kind });
                }
                Block::Challenge(ch) => {
                    key.home.insert(ch.id.clone(), lesson.id.clone());
                    for step in &ch.steps {
                        let id = format!("{}/{}", ch.id, step.id);
                        let solution = markdown_text(&step.solution);
                        key.steps.entry(lesson.id.clone()).or_default().entry(ch.id.clone()).or_default().insert(step.id.clone(), key.items.len());
                        let rubric = step
                            .rubric
                            .iter()
                            .map(|r| RubricEntry { points: r.points, feedback: r.feedback.clone(), accept: r.accept.iter().map(Matcher::compile).collect() })
                            .collect();
                        // The solution matters to grades: near-copies of it are flagged.
                        fingerprint.items.push(FingerprintItem {
                            id: &step.id,
                            lesson: Some(&lesson.id),
                            points: step.max_points(),
                            answer: None,
                            policy: None,
                            rubric: step.rubric.iter().map(|r| (r.points, r.accept.as_slice(), r.feedback.as_str())).collect(),
                            solution: Some(solution.clone()),
                            exercise: None,
                        });
                        key.items.push(Item { id, lesson: Some(lesson.id.clone()), max_points: step.max_points(), kind: ItemKind::Step { rubric, solution: crate::rubric::Grams::of(&solution) } });
                    }
                }
                Block::Exercise(e) if !embedded.iter().any(|(id, _)| id == &e.id) => {
                    embedded.push((e.id.clone(), Some(lesson.id.clone())));
                }
                _ => {}
            });
        }
        for id in course.exercises.keys() {
            if !embedded.iter().any(|(e, _)| e == id) {
                embedded.push((id.clone(), None));
            }
        }
        for (id, lesson) in embedded {
            let Some(exercise) = course.exercises.get(&id) else { continue };
            key.items.push(Item { id: id.clone(), lesson, max_points: exercise.points, kind: ItemKind::Exercise(Box::new(exercise.clone())) });
        }
        for item in &key.items {
            if let ItemKind::Exercise(e) = &item.kind {
                fingerprint.items.push(FingerprintItem {
                    id: &item.id,
                    lesson: None,
                    points: e.points,
                    answer: None,
                    policy: None,
                    rubric: Vec::new(),
                    solution: None,
                    exercise: Some(ExerciseFingerprint { entry: &e.entry, function: &e.function, reference: &e.reference, cases: &e.cases, checks: &e.checks }),
                });
            }
        }
        let json = serde_json::to_vec(&fingerprint).unwrap_or_default();
        key.fingerprint = format!("{:016x}", lectern_lesson::stable_hash([json.as_slice()]));
        key
    }

    /// The fingerprint of one exercise's key alone (a changed quiz need not rerun code).
    pub fn exercise_fingerprint(exercise: &Exercise) -> String {
        let f = ExerciseFingerprint { entry: &exercise.entry, function: &exercise.function, reference: &exercise.reference, cases: &exercise.cases, checks: &exercise.checks };
        let json = serde_json::to_vec(&(env!("CARGO_PKG_VERSION"), exercise.points, f)).unwrap_or_default();
        format!("{:016x}", lectern_lesson::stable_hash([json.as_slice()]))
    }
}

fn walk<'a>(blocks: &'a [Block], f: &mut dyn FnMut(&'a Block)) {
    for b in blocks {
        f(b);
        if let Block::Cards(cards) = b {
            for card in &cards.cards {
                walk(&card.body, f);
            }
        }
    }
}

/// The Markdown source of `blocks`, for comparing answers with a published solution.
fn markdown_text(blocks: &[Block]) -> String {
    let mut text = String::new();
    for b in blocks {
        match b {
            Block::Markdown(m) => text.push_str(&m.text),
            Block::Callout(c) => text.push_str(&c.body.text),
            Block::Code(c) => text.push_str(&c.text),
            _ => {}
        }
        text.push('\n');
    }
    text
}

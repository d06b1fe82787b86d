//! The course model: what a course, its lessons and its exercises *are*, independent of
//! how they were written on disk or how they will be shown.
//!
//! Every answer key the grader uses lives here, exactly as the author wrote it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::diag::Span;

/// A whole course: its settings, lessons in order, and exercises by ID.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Course {
    pub config: CourseConfig,
    pub lessons: Vec<Lesson>,
    pub exercises: BTreeMap<String, Exercise>,
}

impl Course {
    /// Every quiz of the course with the lesson that holds it, in reading order.
    pub fn quizzes(&self) -> impl Iterator<Item = (&Lesson, &Quiz)> {
        self.lessons.iter().flat_map(|l| l.quizzes().map(move |q| (l, q)))
    }

    /// Every challenge of the course with the lesson that holds it, in reading order.
    pub fn challenges(&self) -> impl Iterator<Item = (&Lesson, &Challenge)> {
        self.lessons.iter().flat_map(|l| l.challenges().map(move |c| (l, c)))
    }
}

/// `course.toml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CourseConfig {
    /// Short code shown as the course badge, e.g. `AI012`.
    pub code: String,
    pub title: String,
    /// BCP 47 tag of the content language, e.g. `zh-Hant`.
    pub language: String,
    /// The language of the site's own words (Question, Run, …); defaults to `language`.
    pub ui_language: String,
    pub mode: Mode,
    pub runner: RunnerConfig,
    pub grading: GradingConfig,
    pub site: SiteConfig,
}

/// `[site]` in `course.toml`: how the published site is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteConfig {
    /// `search = false` leaves out the search box and its index (on by default).
    pub search: bool,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig { search: true }
    }
}

/// Whether the published site may carry the answer key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Answers are checked in the page; solutions can be revealed.
    #[default]
    Practice,
    /// The site holds no answer key at all; students download `answers.toml`.
    Exam,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunnerConfig {
    /// pip requirement strings that student code may import.
    pub requirements: Vec<String>,
    /// The course's [`LOCK_FILE`], if it has one: the requirements resolved to exact
    /// versions (and hashes), from which every Python environment is made.
    #[serde(skip)]
    pub lock: Option<String>,
}

/// The lock file beside `course.toml`: pip's requirements format, one `name==version`
/// per package (with `--hash=sha256:…` options where the tool that made it gave them),
/// understood by both `pip install --require-hashes -r` and `uv pip sync`. Its header
/// records the `[runner] requirements` it was made from ([`lock_header`]).
pub const LOCK_FILE: &str = "requirements.lock";

/// The header line of a lock file made from `requirements`.
pub fn lock_header(requirements: &[String]) -> String {
    let quoted: Vec<String> = requirements.iter().map(|r| toml::Value::String(r.clone()).to_string()).collect();
    format!("# requirements = [{}]", quoted.join(", "))
}

/// The `[runner] requirements` a lock file's header says it was made from; `None` when
/// it has no such header.
pub fn locked_requirements(lock: &str) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Header {
        requirements: Vec<String>,
    }
    let line = lock.lines().find_map(|l| l.strip_prefix("# requirements = "))?;
    toml::from_str::<Header>(&format!("requirements = {line}")).ok().map(|h| h.requirements)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GradingConfig {
    /// Default policy of multiple-choice quizzes that do not name one.
    pub multiple_choice: ChoicePolicy,
}

/// How a multiple-choice answer earns partial credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChoicePolicy {
    /// Full points for exactly the correct set, nothing otherwise.
    #[default]
    AllOrNothing,
    /// Each right choice earns points/correct, each wrong choice costs as much; floored at 0.
    RightMinusWrong,
}

impl ChoicePolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all-or-nothing" => Some(ChoicePolicy::AllOrNothing),
            "right-minus-wrong" => Some(ChoicePolicy::RightMinusWrong),
            _ => None,
        }
    }
}

/// One lesson file. Its ID is the file stem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lesson {
    pub id: String,
    /// Path relative to the course folder.
    pub file: PathBuf,
    pub title: String,
    /// The lesson's number, shown in the badge (`AI012 · Lesson 2`).
    pub number: Option<u32>,
    pub blocks: Vec<Block>,
    /// Every link reference definition (`[label]: url`) of the lesson, one a line: the
    /// lesson's Markdown blocks are rendered apart, and a link may use a label defined
    /// in another block.
    pub link_definitions: String,
    /// Every footnote definition (`[^label]: …`) of the lesson, a blank line after each:
    /// a reference in one block may be defined in another, and the page numbers and
    /// lists them once.
    pub footnote_definitions: String,
    /// Every id the lesson's page holds, by [`crate::anchors`]'s rules: headings
    /// (explicit and generated), quizzes, challenges.
    pub anchors: Vec<String>,
    /// The ids headings carry as written (`## Title {#id}`): a page takes them before it
    /// gives any other heading an id, so that no generated id takes one first.
    pub explicit_ids: Vec<String>,
    /// Every link in the lesson's Markdown: where it stands and its destination.
    pub links: Vec<(crate::diag::Span, String)>,
}

impl Lesson {
    pub fn quizzes(&self) -> impl Iterator<Item = &Quiz> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Quiz(q) => Some(&**q),
            _ => None,
        })
    }

    pub fn challenges(&self) -> impl Iterator<Item = &Challenge> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Challenge(c) => Some(&**c),
            _ => None,
        })
    }

    pub fn code_blocks(&self) -> impl Iterator<Item = &CodeBlock> {
        fn walk<'a>(blocks: &'a [Block], out: &mut Vec<&'a CodeBlock>) {
            for b in blocks {
                match b {
                    Block::Code(c) => out.push(c),
                    Block::Cards(cards) => cards.cards.iter().for_each(|c| walk(&c.body, out)),
                    Block::Quiz(q) => {
                        walk(&q.prompt, out);
                        walk(&q.explanation, out);
                    }
                    Block::Challenge(ch) => {
                        walk(&ch.prompt, out);
                        for s in &ch.steps {
                            walk(&s.prompt, out);
                            walk(&s.solution, out);
                        }
                    }
                    Block::Markdown(_) | Block::Callout(_) | Block::Exercise(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.blocks, &mut out);
        out.into_iter()
    }
}

/// A piece of a lesson, in reading order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Block {
    /// CommonMark text (with math) to render as it is.
    Markdown(Markdown),
    // The larger variants are boxed: most blocks are Markdown, and a lesson's Vecs of
    // blocks move less that way.
    Callout(Box<Callout>),
    /// A code block that names a file, takes its text from one, or runs.
    Code(Box<CodeBlock>),
    Cards(Cards),
    Quiz(Box<Quiz>),
    Challenge(Box<Challenge>),
    Exercise(ExerciseEmbed),
}

/// A run of CommonMark source. `span` is where it stands in the lesson file; `text` may
/// differ from the file's bytes there (a callout body has its `>` markers removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Markdown {
    pub text: String,
    pub span: Span,
}

/// A GitHub-style alert, `> [!TIP] Optional title`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Callout {
    pub kind: CalloutKind,
    /// The title written on the marker line, if any.
    pub title: Option<String>,
    pub body: Markdown,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CalloutKind {
    Note,
    Tip,
    Important,
    Warning,
    Caution,
}

impl CalloutKind {
    pub const ALL: [CalloutKind; 5] = [
        CalloutKind::Note,
        CalloutKind::Tip,
        CalloutKind::Important,
        CalloutKind::Warning,
        CalloutKind::Caution,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CalloutKind::Note => "note",
            CalloutKind::Tip => "tip",
            CalloutKind::Important => "important",
            CalloutKind::Warning => "warning",
            CalloutKind::Caution => "caution",
        }
    }
}

/// A code block that is a file of the lesson: a tab, maybe a Run button.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeBlock {
    /// The language named first in the info string (`python`).
    pub lang: Option<String>,
    /// The tab name (`file=`, or the `src=` file name).
    pub file: Option<String>,
    /// `src=`: the path, relative to the lesson's folder, the text was taken from.
    pub src: Option<String>,
    /// `run`: the block is runnable.
    pub run: bool,
    /// The code itself (from `src=` once the course is loaded).
    pub text: String,
    pub span: Span,
}

/// `::: cards`: a numbered grid of cards.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cards {
    pub cards: Vec<Card>,
    pub span: Span,
}

/// One card of a `::: cards` grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    /// The `###` heading's inline Markdown.
    pub title: String,
    pub body: Vec<Block>,
    pub span: Span,
}

/// `::: quiz ID`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quiz {
    pub id: String,
    pub prompt: Vec<Block>,
    pub answer: QuizAnswer,
    pub points: f64,
    /// Shown after answering in practice mode; part of the key.
    pub explanation: Vec<Block>,
    pub span: Span,
}

/// What the quiz asks for, and its key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum QuizAnswer {
    /// Options in author order; one correct is single choice, more is multiple choice.
    Choice {
        options: Vec<QuizOption>,
        /// The quiz's own policy; `None` means the course default.
        policy: Option<ChoicePolicy>,
    },
    Numeric {
        answer: f64,
        tolerance: Tolerance,
        unit: Option<String>,
    },
    Text {
        accept: Vec<Accept>,
    },
}

impl QuizAnswer {
    /// True when more than one option is correct.
    pub fn is_multiple_choice(&self) -> bool {
        match self {
            QuizAnswer::Choice { options, .. } => options.iter().filter(|o| o.correct).count() > 1,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuizOption {
    /// `A`, `B`, … in author order: how hand-ins and reports name the option.
    pub letter: char,
    /// Inline Markdown.
    pub text: String,
    pub correct: bool,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Tolerance {
    /// |given − answer| ≤ value.
    Absolute(f64),
    /// |given − answer| ≤ value × |answer| (written `2%`, stored as 0.02).
    Relative(f64),
}

/// One accepted answer of a text quiz or rubric item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Accept {
    /// Compared after trimming, case folding and NFKC (whole answer for quizzes,
    /// substring for rubric items).
    Phrase(String),
    /// A regular expression (written `/…/`), already checked to compile.
    Regex(String),
}

/// `::: challenge ID`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Challenge {
    pub id: String,
    pub title: String,
    pub prompt: Vec<Block>,
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// `step1`, `step2`, … unless the author named it.
    pub id: String,
    pub prompt: Vec<Block>,
    pub solution: Vec<Block>,
    pub rubric: Vec<RubricItem>,
    pub span: Span,
}

impl Step {
    /// The most points the step can earn: the sum of its rubric items.
    pub fn max_points(&self) -> f64 {
        self.rubric.iter().map(|r| r.points).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RubricItem {
    pub points: f64,
    /// Shown to a student whose answer misses the item.
    pub feedback: String,
    /// The item is earned when any of these matches.
    pub accept: Vec<Accept>,
    pub span: Span,
}

/// `::: exercise ID`: embeds `exercises/ID/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExerciseEmbed {
    pub id: String,
    pub span: Span,
}

/// `exercises/ID/exercise.toml` and the files beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exercise {
    pub id: String,
    pub title: String,
    /// Markdown.
    pub statement: String,
    /// The file name the student hands in.
    pub entry: String,
    /// The function the harness calls.
    pub function: String,
    /// The runner's reference implementation.
    pub reference: String,
    pub points: f64,
    pub cases: Vec<Case>,
    pub checks: Vec<Check>,
    /// `starter.py`.
    pub starter: String,
    /// `solution.py`, if present; instructors only, never published.
    pub solution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub name: String,
    /// Argument name and shape, in the author's order; values are drawn from the seed.
    pub inputs: Vec<(String, Vec<usize>)>,
    /// Extra keyword arguments passed as they are.
    pub args: BTreeMap<String, ArgValue>,
    pub dtype: DType,
    pub visible: bool,
    pub seed: Option<u64>,
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
}

/// A keyword argument of a case: what TOML can say that Python can take.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ArgValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<ArgValue>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    #[default]
    F32,
    F64,
    F16,
    BF16,
}

impl DType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(DType::F32),
            "f64" => Some(DType::F64),
            "f16" => Some(DType::F16),
            "bf16" => Some(DType::BF16),
            _ => None,
        }
    }
}

/// A behaviour check beyond matching outputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub property: Property,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// Changing tokens after position t changes no output at or before t.
    NoFutureLeak,
    /// Padded key positions get no weight.
    PaddingRespected,
    /// Decoding step by step with a cache equals full causal attention.
    KvCacheConsistent,
    /// Finite, correct output with scores near 1e4.
    StableLargeLogits,
    /// Each batch item's output depends on that item only.
    BatchIndependent,
}

impl Property {
    pub const ALL: [Property; 5] = [
        Property::NoFutureLeak,
        Property::PaddingRespected,
        Property::KvCacheConsistent,
        Property::StableLargeLogits,
        Property::BatchIndependent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::NoFutureLeak => "no-future-leak",
            Property::PaddingRespected => "padding-respected",
            Property::KvCacheConsistent => "kv-cache-consistent",
            Property::StableLargeLogits => "stable-large-logits",
            Property::BatchIndependent => "batch-independent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Property::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Whether a function that computes nothing (returns zeros, or any constant of the
    /// right shape) passes the check: the invariance checks compare the student's
    /// outputs with each other, never with the reference. Their points depend on the
    /// exercise's value cases (the grader weighs them by the share passed).
    pub fn constant_passes(self) -> bool {
        matches!(self, Property::NoFutureLeak | Property::PaddingRespected | Property::BatchIndependent)
    }
}

#[cfg(test)]
mod lock_tests {
    use super::{lock_header, locked_requirements};

    #[test]
    fn a_lock_header_reads_back_as_the_requirements_it_was_made_from() {
        for requirements in [vec![], vec!["numpy>=1.26".to_owned()], vec!["numpy>=1.26,<3".to_owned(), "torch[cpu]==2.5; python_version >= \"3.10\"".to_owned()]] {
            let lock = format!("# made by hand\n{}\nnumpy==2.4.6\n", lock_header(&requirements));
            assert_eq!(locked_requirements(&lock), Some(requirements));
        }
        assert_eq!(locked_requirements("numpy==2.4.6\n"), None);
        assert_eq!(locked_requirements("# requirements = [unquoted]\n"), None);
    }
}

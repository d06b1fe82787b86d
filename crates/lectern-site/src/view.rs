//! What the templates see: the course as pages of blocks, with HTML already rendered.
//!
//! This is where exam mode is enforced. In exam mode the view is built without any
//! part of the key — correct options, explanations, numeric answers, accepted texts,
//! solutions, rubrics, hidden cases — so no template, however written, can leak it.

use std::collections::BTreeMap;

use lectern_lesson::{
    Block, Challenge, CodeBlock, Course, Exercise, Lesson, Mode, Quiz, QuizAnswer,
};
use serde::Serialize;

use crate::render::{self, Page};

/// Everything every page knows.
#[derive(Debug, Serialize)]
pub struct SiteView<'a> {
    pub code: &'a str,
    pub title: &'a str,
    pub language: &'a str,
    pub mode: &'static str,
    pub ui: BTreeMap<&'static str, &'static str>,
    /// `ui` as JSON for the page script (safe inside a `<script>` element).
    pub ui_json: String,
    /// The answer contract's rules for the practice check (`lectern_lesson::answer`),
    /// as JSON; empty in exam mode.
    pub rules_json: String,
    pub lessons: Vec<LessonLink>,
    /// Under `lectern serve`: the site's version, for live reload.
    pub serve: Option<String>,
    /// Whether pages carry the search box (`[site] search` in `course.toml`); the index
    /// itself is made from the built pages (see [`crate::SEARCH_ROOT`]).
    pub search: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LessonLink {
    pub id: String,
    pub title: String,
    pub number: Option<u32>,
    pub href: String,
}

/// One lesson page.
#[derive(Debug, Serialize)]
pub struct LessonView {
    pub id: String,
    /// The title as plain text (`<title>`, navigation).
    pub title: String,
    /// The title as HTML, formulas rendered (the page's `<h1>`).
    pub title_html: String,
    /// The page's footnotes, numbered and linked back ([`Page::footnotes`]).
    pub footnotes: String,
    pub number: Option<u32>,
    /// `AI012 · Lesson 2`.
    pub badge: String,
    pub blocks: Vec<BlockView>,
    pub prev: Option<LessonLink>,
    pub next: Option<LessonLink>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BlockView {
    Markdown { html: String },
    Callout { callout: String, title: Option<String>, html: String },
    Code(CodeView),
    Cards { cards: Vec<CardView> },
    Quiz(QuizView),
    Challenge(ChallengeView),
    Exercise(ExerciseView),
}

#[derive(Debug, Serialize)]
pub struct CodeView {
    /// Stable ID of this code (its content hash): where captured output is looked up.
    pub key: String,
    pub file: Option<String>,
    pub lang: Option<String>,
    pub run: bool,
    pub html: String,
    /// What running it printed, when the build ran it.
    pub output: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CardView {
    pub number: usize,
    /// The card title's id on the page.
    pub id: String,
    pub title: String,
    pub html: String,
}

#[derive(Debug, Serialize)]
pub struct QuizView {
    pub id: String,
    pub number: usize,
    pub prompt: String,
    /// `single`, `multiple`, `numeric` or `text`.
    pub input: &'static str,
    pub options: Vec<OptionView>,
    pub unit: Option<String>,
    pub points: f64,
    /// Practice mode only: what the page checks answers against, as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct OptionView {
    pub letter: char,
    pub html: String,
}

#[derive(Debug, Serialize)]
pub struct ChallengeView {
    pub id: String,
    pub title: String,
    /// The title heading's id on the page.
    pub title_id: String,
    pub prompt: String,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Serialize)]
pub struct StepView {
    pub id: String,
    pub number: usize,
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExerciseView {
    pub id: String,
    pub title: String,
    pub statement: String,
    pub entry: String,
    pub function: String,
    pub points: f64,
    pub starter: String,
    pub cases: Vec<CaseView>,
}

#[derive(Debug, Serialize)]
pub struct CaseView {
    pub name: String,
    /// `q [2, 4, 8], k [2, 4, 8]`, and any keyword arguments.
    pub inputs: String,
}

/// The content hash of a code block: the key its captured output is stored under.
pub fn code_key(code: &CodeBlock) -> String {
    let hash = lectern_lesson::stable_hash([code.lang.as_deref().unwrap_or("").as_bytes(), code.text.as_bytes()]);
    format!("{hash:016x}")
}

pub fn link(lesson: &Lesson) -> LessonLink {
    LessonLink {
        id: lesson.id.clone(),
        title: render::plain_text(&lesson.title),
        number: lesson.number,
        href: format!("{}.html", lesson.id),
    }
}

#[derive(Debug)]
pub struct ViewBuilder<'a> {
    pub course: &'a Course,
    pub mode: Mode,
    pub outputs: &'a BTreeMap<String, String>,
    pub ui: &'a BTreeMap<&'static str, &'static str>,
}

impl ViewBuilder<'_> {
    fn practice(&self) -> bool {
        self.mode == Mode::Practice
    }

    pub fn lesson(&self, index: usize) -> LessonView {
        let lesson = &self.course.lessons[index];
        let page = Page::new(lesson);
        let mut quiz_number = 0;
        let blocks = lesson
            .blocks
            .iter()
            .map(|b| {
                if let Block::Quiz(_) = b {
                    quiz_number += 1;
                }
                self.block(b, quiz_number, &page)
            })
            .collect();
        let code = &self.course.config.code;
        let badge = match lesson.number {
            Some(n) => format!("{code} · {}", self.ui["lesson"].replace("{n}", &n.to_string())),
            None => code.clone(),
        };
        let footnotes = page.footnotes();
        LessonView {
            id: lesson.id.clone(),
            title: render::plain_text(&lesson.title),
            title_html: render::inline(&lesson.title),
            footnotes,
            number: lesson.number,
            badge,
            blocks,
            prev: index.checked_sub(1).map(|i| link(&self.course.lessons[i])),
            next: self.course.lessons.get(index + 1).map(link),
        }
    }

    fn blocks_html(&self, blocks: &[Block], page: &Page) -> String {
        // Nested content (card bodies, prompts, solutions) holds Markdown, callouts and
        // code only; render each in place.
        let mut html = String::new();
        for b in blocks {
            match b {
                Block::Markdown(m) => html.push_str(&page.markdown(&m.text)),
                Block::Callout(c) => html.push_str(&callout_html(c.kind.name(), c.title.as_deref(), &page.markdown(&c.body.text))),
                Block::Code(c) => html.push_str(&render::code_block(c.lang.as_deref(), &c.text)),
                _ => {}
            }
        }
        html
    }

    fn block(&self, block: &Block, quiz_number: usize, page: &Page) -> BlockView {
        match block {
            Block::Markdown(m) => BlockView::Markdown { html: page.markdown(&m.text) },
            Block::Callout(c) => BlockView::Callout {
                callout: c.kind.name().to_string(),
                title: c.title.as_deref().map(render::inline),
                html: page.markdown(&c.body.text),
            },
            Block::Code(c) => {
                let key = code_key(c);
                BlockView::Code(CodeView {
                output: self.outputs.get(&key).cloned(),
                key,
                file: c.file.clone(),
                lang: c.lang.clone(),
                run: c.run,
                html: render::code_block(c.lang.as_deref(), &c.text),
            })
            }
            Block::Cards(cards) => BlockView::Cards {
                cards: cards
                    .cards
                    .iter()
                    .enumerate()
                    .map(|(i, c)| CardView { number: i + 1, id: page.heading_id(&c.title), title: page.inline(&c.title), html: self.blocks_html(&c.body, page) })
                    .collect(),
            },
            Block::Quiz(q) => BlockView::Quiz(self.quiz(q, quiz_number, page)),
            Block::Challenge(c) => BlockView::Challenge(self.challenge(c, page)),
            Block::Exercise(e) => match self.course.exercises.get(&e.id) {
                Some(ex) => BlockView::Exercise(exercise(ex)),
                None => BlockView::Markdown { html: String::new() },
            },
        }
    }

    fn quiz(&self, q: &Quiz, number: usize, page: &Page) -> QuizView {
        let (input, options, unit) = match &q.answer {
            QuizAnswer::Choice { options, .. } => (
                if q.answer.is_multiple_choice() { "multiple" } else { "single" },
                options.iter().map(|o| OptionView { letter: o.letter, html: page.inline(&o.text) }).collect(),
                None,
            ),
            QuizAnswer::Numeric { unit, .. } => ("numeric", Vec::new(), unit.clone()),
            QuizAnswer::Text { .. } => ("text", Vec::new(), None),
        };
        let practice = self.practice();
        QuizView {
            id: q.id.clone(),
            number,
            prompt: self.blocks_html(&q.prompt, page),
            input,
            options,
            unit,
            points: q.points,
            key: if practice { quiz_key(&q.answer, self.course.config.grading.multiple_choice) } else { None },
            explanation: (practice && !q.explanation.is_empty()).then(|| self.blocks_html(&q.explanation, page)),
        }
    }

    fn challenge(&self, c: &Challenge, page: &Page) -> ChallengeView {
        ChallengeView {
            id: c.id.clone(),
            title: page.inline(&c.title),
            title_id: page.heading_id(&c.title),
            prompt: self.blocks_html(&c.prompt, page),
            steps: c
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| StepView {
                    id: s.id.clone(),
                    number: i + 1,
                    prompt: self.blocks_html(&s.prompt, page),
                    solution: (self.practice() && !s.solution.is_empty()).then(|| self.blocks_html(&s.solution, page)),
                })
                .collect(),
        }
    }
}

pub fn callout_html(kind: &str, title: Option<&str>, body: &str) -> String {
    let title = title.map(|t| format!("<p class=\"callout-title\">{}</p>", render::inline(t))).unwrap_or_default();
    format!("<aside class=\"callout callout-{kind}\">{title}{body}</aside>\n")
}

/// The practice-mode key as JSON for the page's script, made by the answer contract
/// ([`lectern_lesson::answer::PageKey`]); `None` when a pattern has no exact
/// JavaScript form, and the page then offers no Check rather than a different verdict.
fn quiz_key(answer: &QuizAnswer, default_policy: lectern_lesson::ChoicePolicy) -> Option<String> {
    let key = lectern_lesson::answer::PageKey::of(answer, default_policy).ok()?;
    serde_json::to_string(&key).ok()
}

fn exercise(ex: &Exercise) -> ExerciseView {
    ExerciseView {
        id: ex.id.clone(),
        title: ex.title.clone(),
        statement: render::markdown(&ex.statement),
        entry: ex.entry.clone(),
        function: ex.function.clone(),
        points: ex.points,
        starter: render::code_block(Some("python"), &ex.starter),
        // Hidden cases are part of the key; they never reach a page.
        cases: ex
            .cases
            .iter()
            .filter(|c| c.visible)
            .map(|c| {
                let mut parts: Vec<String> = c.inputs.iter().map(|(name, shape)| format!("{name} {shape:?}")).collect();
                parts.extend(c.args.iter().map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default())));
                CaseView { name: c.name.clone(), inputs: parts.join(", ") }
            })
            .collect(),
    }
}

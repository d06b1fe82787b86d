//! The lesson format, one behaviour at a time: a lesson in, the model (or the
//! diagnostics) out.

use std::path::Path;

use lectern_lesson::{parse_lesson, Accept, Block, Diagnostic, Lesson, QuizAnswer};

fn parse(body: &str) -> (Lesson, Vec<Diagnostic>) {
    let text = format!("+++\ntitle = \"t\"\n+++\n\n{body}");
    let parsed = parse_lesson("t", Path::new("t.md"), &text);
    (parsed.value, parsed.diagnostics)
}

fn messages(diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().map(|d| format!("{:?}: {}", d.severity, d.message)).collect()
}

fn quiz_answer(lesson: &Lesson) -> &QuizAnswer {
    match lesson.blocks.iter().find_map(|b| if let Block::Quiz(q) = b { Some(q) } else { None }) {
        Some(q) => &q.answer,
        None => panic!("no quiz in {:?}", lesson.blocks),
    }
}

#[test]
fn accepted_answers_may_have_spaces_around_the_bars() {
    let (lesson, diags) = parse("::: quiz q1 {type=text accept=\"decoder-only | /decod(er|ing)/ | GPT \"}\nWhich?\n:::\n");
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    let QuizAnswer::Text { accept } = quiz_answer(&lesson) else { panic!() };
    assert_eq!(
        accept,
        &[Accept::Phrase("decoder-only".into()), Accept::Regex("decod(er|ing)".into()), Accept::Phrase("GPT".into())]
    );
}

#[test]
fn a_regex_that_matches_everything_is_an_error() {
    let (_, diags) = parse(
        "::: challenge c\n## T\n\n::: step\nWhy?\n\n::: rubric\n- 2: Names it. `//`, `floor division`\n- 1: Negatives. `/(negative)?/`\n:::\n:::\n:::\n",
    );
    let m = messages(&diags);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m.iter().all(|m| m.starts_with("Error: regular expression")), "{m:?}");
}

#[test]
fn options_split_into_two_lists_are_an_error_not_a_loss() {
    let (_, diags) = parse("::: quiz q1\nPick\n- [x] A\n- [ ] B\n* [ ] C\n:::\n");
    assert!(messages(&diags).iter().any(|m| m.contains("second list of options")), "{:?}", messages(&diags));
}

#[test]
fn an_html_block_before_a_directive_does_not_swallow_it() {
    let (lesson, diags) = parse("<img src=\"a.png\" alt=\"diagram\">\n::: quiz q1\nPick one\n- [x] A\n- [ ] B\n:::\n");
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    let QuizAnswer::Choice { options, .. } = quiz_answer(&lesson) else { panic!() };
    assert_eq!(options.len(), 2);
}

#[test]
fn a_commented_out_quiz_is_not_a_quiz() {
    let (lesson, diags) = parse("<!-- draft:\n::: quiz q9 {type=text accept=\"secret\"}\nWhat?\n:::\n-->\n\nText.\n");
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    assert!(lesson.quizzes().next().is_none());
}

#[test]
fn every_broken_formula_is_reported_even_when_markdown_leaves_it_as_text() {
    let (_, diags) = parse(
        "A formula $d_{k$ is broken.\n\nAnother $x}$ is broken.\n\n- [x] $\\frac{1}{2$\n- [ ] $$\\sqrt{x$$\n\n| a | b |\n|---|---|\n| n | $|x|_2$ |\n\nPrices $5 and $10, $HOME and $PATH are prose.\n",
    );
    let m = messages(&diags);
    assert_eq!(m.len(), 5, "{m:?}");
    assert!(m[4].contains("ends the table cell"), "{m:?}");
}

#[test]
fn card_titles_keep_their_inline_markup() {
    let (lesson, diags) = parse("::: cards\n### *Bold* title\nx\n### [Link](http://x.y) tail\ny\n### title *emph*\nz\n:::\n");
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    let Some(Block::Cards(cards)) = lesson.blocks.first() else { panic!("{:?}", lesson.blocks) };
    let titles: Vec<&str> = cards.cards.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["*Bold* title", "[Link](http://x.y) tail", "title *emph*"]);
}

#[test]
fn an_indented_rubric_list_is_read() {
    let (lesson, diags) = parse("::: challenge c\n## T\n\n::: step\nWhy?\n\n::: rubric\n  - 2: a `x`\n  - 1: b `y`\n:::\n:::\n:::\n");
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    let step = &lesson.challenges().next().expect("challenge").steps[0];
    let points: Vec<f64> = step.rubric.iter().map(|r| r.points).collect();
    assert_eq!(points, [2.0, 1.0]);
}

#[test]
fn feedback_after_the_phrases_is_warned_about_and_points_must_be_positive() {
    let (_, diags) = parse(
        "::: challenge c\n## T\n\n::: step\nWhy?\n\n::: rubric\n- 2: Names `cross-attention` as the cost. `交叉注意力`\n:::\n:::\n:::\n\n::: quiz q1 {points=-3}\nPick\n- [x] A\n:::\n",
    );
    let m = messages(&diags);
    assert!(m.iter().any(|m| m.starts_with("Warning: text after the first phrase")), "{m:?}");
    assert!(m.iter().any(|m| m.starts_with("Error: points must be more than 0")), "{m:?}");
}

#[test]
fn link_definitions_reach_every_block() {
    let (lesson, diags) = parse("See [ref][v].\n\n::: quiz q1\nPer [the paper][v]?\n- [x] A\n:::\n\n[v]: https://arxiv.org/abs/1706.03762\n");
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    assert_eq!(lesson.link_definitions, "[v]: https://arxiv.org/abs/1706.03762\n");
}

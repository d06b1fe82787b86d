//! The seed lesson's model, snapshotted: the answer key the grader will use is exactly
//! what the author wrote.

use lectern_lesson::{load_course, Block, QuizAnswer};

use crate::{root, snapshot};

#[test]
fn the_seed_lesson_model_is_as_written() {
    let loaded = load_course(&root().join("courses/ai012"));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let lesson = &loaded.course.lessons[0];
    let json = serde_json::to_string_pretty(lesson).expect("serializes") + "\n";
    snapshot::assert(&root().join("tests/snapshots/ai012-lesson.json"), &json);
}

#[test]
fn the_seed_lesson_holds_what_the_lesson_promises() {
    let loaded = load_course(&root().join("courses/ai012"));
    let course = &loaded.course;
    assert_eq!(course.config.code, "AI012");
    let lesson = &course.lessons[0];
    assert_eq!((lesson.id.as_str(), lesson.number), ("02-llm-architectures", Some(2)));

    let cards = lesson.blocks.iter().find_map(|b| if let Block::Cards(c) = b { Some(c) } else { None });
    let titles: Vec<&str> = cards.expect("cards").cards.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["1. 僅編碼器(BERT)", "2. 僅解碼器(GPT)", "3. 編碼器-解碼器(T5)"]);

    let callouts: Vec<(&str, Option<&str>)> = lesson
        .blocks
        .iter()
        .filter_map(|b| if let Block::Callout(c) = b { Some((c.kind.name(), c.title.as_deref())) } else { None })
        .collect();
    assert_eq!(callouts, [("tip", Some("關鍵洞察:解碼器主導性")), ("warning", Some("VRAM 上下文視窗影響"))]);

    let code: Vec<_> = lesson.code_blocks().collect();
    assert_eq!(code.len(), 1);
    assert_eq!((code[0].file.as_deref(), code[0].run), (Some("arch_comparison.py"), true));
    assert!(code[0].text.contains("def main()"), "src= text was not loaded");

    let key: Vec<(&str, String)> = lesson
        .quizzes()
        .map(|q| match &q.answer {
            QuizAnswer::Choice { options, .. } => {
                (q.id.as_str(), options.iter().filter(|o| o.correct).map(|o| o.letter).collect())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(key, [("q1", "A".to_string()), ("q2", "C".to_string())]);

    let challenge = lesson.challenges().next().expect("challenge");
    assert_eq!(challenge.id, "bottleneck");
    assert_eq!(challenge.title, "Challenge: Architectural Bottlenecks");
    let steps: Vec<&str> = challenge.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(steps, ["step1", "step2"]);
    for step in &challenge.steps {
        assert!(!step.solution.is_empty() && !step.rubric.is_empty() && step.max_points() > 0.0);
    }
}

//! `answers.toml` against the key: which answer belongs to which item, and a note for
//! every answer the key has no place for.

use crate::key::Key;

/// The parsed answers of one hand-in.
#[derive(Debug)]
pub struct Answers {
    pub student: Option<String>,
    table: toml::Table,
}

/// Reads `answers.toml`. The error is the message for the student's error row.
pub fn parse(bytes: &[u8]) -> Result<Answers, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("answers.toml is not UTF-8 text (a binary file?): invalid byte at offset {}", e.valid_up_to()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e.span().map(|s| {
            let line = text[..s.start].matches('\n').count() + 1;
            let col = text[..s.start].rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" at line {line}, column {col}")
        });
        format!("answers.toml is not valid TOML{}: {}", at.unwrap_or_default(), e.message())
    })?;
    let student = match table.get("student") {
        None => None,
        // The page writes `student = ""` when no ID was typed: the folder's name stands.
        Some(toml::Value::String(s)) if s.trim().is_empty() => None,
        Some(toml::Value::String(s)) => Some(student_id(s)),
        Some(other) => return Err(format!("answers.toml: `student` must be a string, found `{}`", crate::quiz::capped(other))),
    };
    Ok(Answers { student, table })
}

impl Answers {
    /// The answer to quiz `quiz` of lesson `lesson`.
    pub fn quiz(&self, lesson: &str, quiz: &str) -> Option<&toml::Value> {
        self.lesson(lesson)?.get("quiz")?.as_table()?.get(quiz)
    }

    /// The answer to step `step` of challenge `challenge` of lesson `lesson`.
    pub fn step(&self, lesson: &str, challenge: &str, step: &str) -> Option<&toml::Value> {
        self.lesson(lesson)?.get("challenge")?.as_table()?.get(challenge)?.as_table()?.get(step)
    }

    fn lesson(&self, lesson: &str) -> Option<&toml::Table> {
        self.table.get("lessons")?.as_table()?.get(lesson)?.as_table()
    }

    /// Every answer the key has no place for, said so that the student can fix it.
    pub fn unknown(&self, key: &Key) -> Vec<String> {
        let mut notes = Vec::new();
        for (name, _) in self.table.iter().filter(|(k, _)| !matches!(k.as_str(), "student" | "lessons")) {
            notes.push(format!("answers.toml: `{name}` is not a key Lectern reads (expected `student` and `[lessons.…]` tables); ignored"));
        }
        let Some(lessons) = self.table.get("lessons") else { return notes };
        let Some(lessons) = lessons.as_table() else {
            notes.push("answers.toml: `lessons` must be a table of lessons; ignored".into());
            return notes;
        };
        for (lesson, value) in lessons {
            let quizzes = key.quizzes.get(lesson);
            let steps = key.steps.get(lesson);
            if quizzes.is_none() && steps.is_none() {
                notes.push(format!("answers.toml: the course has no lesson `{lesson}` with questions; its answers were ignored"));
                continue;
            }
            let Some(sections) = value.as_table() else {
                notes.push(format!("answers.toml: `lessons.{lesson}` must be a table; ignored"));
                continue;
            };
            for (section, value) in sections {
                let Some(entries) = value.as_table() else {
                    notes.push(format!("answers.toml: `lessons.{lesson}.{section}` must be a table; ignored"));
                    continue;
                };
                match section.as_str() {
                    "quiz" => {
                        for id in entries.keys().filter(|id| !quizzes.is_some_and(|q| q.contains_key(*id))) {
                            notes.push(self.misplaced(key, lesson, id, "quiz"));
                        }
                    }
                    "challenge" => {
                        for (id, step_answers) in entries {
                            match steps.and_then(|s| s.get(id)) {
                                None => notes.push(self.misplaced(key, lesson, id, "challenge")),
                                Some(known) => {
                                    let Some(step_answers) = step_answers.as_table() else {
                                        notes.push(format!("answers.toml: `lessons.{lesson}.challenge.{id}` must be a table of steps; ignored"));
                                        continue;
                                    };
                                    for step in step_answers.keys().filter(|s| !known.contains_key(*s)) {
                                        let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
                                        names.sort_unstable();
                                        notes.push(format!("answers.toml: challenge `{id}` has no step `{step}` (its steps: {}); ignored", names.join(", ")));
                                    }
                                }
                            }
                        }
                    }
                    other => notes.push(format!("answers.toml: `lessons.{lesson}.{other}` is neither `quiz` nor `challenge`; ignored")),
                }
            }
        }
        notes
    }

    fn misplaced(&self, key: &Key, lesson: &str, id: &str, what: &str) -> String {
        match key.home.get(id) {
            Some(home) => format!("answers.toml: {what} `{id}` belongs to lesson `{home}`, not `{lesson}`; the answer filed under `{lesson}` was ignored"),
            None => format!("answers.toml: the course has no {what} `{id}`; ignored"),
        }
    }
}

/// Whether `id` can name a student's folder of results and a gradebook row: letters,
/// digits, `.`, `_`, `-` and `@`, starting with a letter or digit (so never a dot file,
/// nor a spreadsheet formula such as `-1+2` or `@SUM(…)`), at most 128 bytes.
/// A student ID as compared and recorded: trimmed and in Unicode NFC, so that `José`
/// typed on one system and a folder named `José` by macOS (NFD) are the same student.
pub fn student_id(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.trim().nfc().collect()
}

/// A name as a person reads it in a message: as text, control characters shown as `�`,
/// at most 40 characters.
pub fn shown(name: &str) -> String {
    let mut out: String = name.chars().take(40).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    if name.chars().count() > 40 {
        out.push('…');
    }
    out
}

pub fn valid_student_id(id: &str) -> bool {
    id.len() <= 128
        && id.chars().next().is_some_and(char::is_alphanumeric)
        && id.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

#[cfg(test)]
mod tests {
    use lectern_lesson::answer::{AnswersFile, LessonAnswers, QuizValue};

    /// The grader's reader against the typed format: every kind of value the format holds,
    /// written by `toml` from the typed struct, is read back as written.
    #[test]
    fn the_reader_reads_what_the_typed_format_writes() {
        let mut lesson = LessonAnswers::default();
        lesson.quiz.insert("q1".into(), QuizValue::Text("B".into()));
        lesson.quiz.insert("q2".into(), QuizValue::Letters(vec!["A".into(), "C".into()]));
        lesson.quiz.insert("q3".into(), QuizValue::Number(1000.0));
        lesson.quiz.insert("q4".into(), QuizValue::Text("1,000 MiB".into()));
        lesson.challenge.insert("c".into(), [("step1".to_owned(), "don’t \"quote\" me\n\ton this".to_owned())].into());
        let file = AnswersFile { student: "José".into(), lessons: [("02-x".to_owned(), lesson)].into() };
        let text = toml::to_string(&file).expect("typed answers serialize");
        let read = super::parse(text.as_bytes()).expect("the grader reads it");
        assert_eq!(read.student.as_deref(), Some("José"));
        assert_eq!(read.quiz("02-x", "q1"), Some(&toml::Value::String("B".into())));
        assert_eq!(read.quiz("02-x", "q2"), Some(&toml::Value::Array(vec!["A".into(), "C".into()])));
        assert_eq!(read.quiz("02-x", "q3").and_then(toml::Value::as_float), Some(1000.0));
        assert_eq!(read.quiz("02-x", "q4"), Some(&toml::Value::String("1,000 MiB".into())));
        assert_eq!(read.step("02-x", "c", "step1").and_then(toml::Value::as_str), Some("don’t \"quote\" me\n\ton this"));
        // And the typed format reads what the grader reads.
        let back: AnswersFile = toml::from_str(&text).expect("round trip");
        assert_eq!(back, file);
    }
}

//! Loading a course folder: `course.toml`, every lesson, every exercise, and the checks
//! that need more than one file (IDs unique across the course, `src=` files, embedded
//! exercises).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::diag::{Diagnostic, Span};
use crate::exercise::parse_exercise;
use crate::lesson::{find_key, parse_lesson, Parsed};
use crate::model::{Block, ChoicePolicy, CodeBlock, Course, CourseConfig, GradingConfig, Lesson, Mode, RunnerConfig, SiteConfig};

/// A course as far as it could be read, every diagnostic, and the text of every file
/// read (by path relative to the course folder) so that diagnostics can show their line.
#[derive(Debug)]
pub struct LoadedCourse {
    pub course: Course,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: BTreeMap<PathBuf, String>,
}

impl LoadedCourse {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

#[derive(Deserialize)]
struct RawConfig {
    code: String,
    title: String,
    language: Option<String>,
    ui_language: Option<String>,
    mode: Option<toml::Spanned<String>>,
    #[serde(default)]
    runner: RawRunner,
    #[serde(default)]
    grading: RawGrading,
    #[serde(default)]
    site: RawSite,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Default)]
struct RawSite {
    search: Option<bool>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Default)]
struct RawRunner {
    #[serde(default)]
    requirements: Vec<String>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Default)]
struct RawGrading {
    multiple_choice: Option<toml::Spanned<String>>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

struct Loader<'c> {
    root: PathBuf,
    diagnostics: Vec<Diagnostic>,
    sources: BTreeMap<PathBuf, String>,
    cache: &'c mut CourseCache,
}

/// What a previous load read and parsed, so that reloading a course after an edit reads
/// and parses only the files that changed (`lectern serve`).
#[derive(Debug, Default)]
pub struct CourseCache {
    /// File text by path, with the modification time and length it was read at.
    files: HashMap<PathBuf, (Option<SystemTime>, u64, String)>,
    /// Each lesson's text and what parsing it gave.
    lessons: HashMap<PathBuf, (String, Parsed<Lesson>)>,
}

/// Reads the course in `root`. Never fails: what cannot be read is a diagnostic.
pub fn load_course(root: &Path) -> LoadedCourse {
    load_course_cached(root, &mut CourseCache::default())
}

/// [`load_course`], reusing what `cache` holds from an earlier load of the same folder.
pub fn load_course_cached(root: &Path, cache: &mut CourseCache) -> LoadedCourse {
    let mut loader = Loader { root: root.to_path_buf(), diagnostics: Vec::new(), sources: BTreeMap::new(), cache };
    let config = loader.config();
    let exercises = loader.exercises();
    let mut lessons = Vec::new();
    for (id, rel) in loader.files_in("lessons", |p| p.extension().is_some_and(|e| e == "md")) {
        // A lesson that is not UTF-8 is still parsed (lossily) so that its other problems show too.
        let text = match loader.read_text(&rel) {
            Some(text) => text,
            None => match loader.sources.get(&rel) {
                Some(lossy) => lossy.clone(),
                None => continue,
            },
        };
        let parsed = match loader.cache.lessons.get(&rel) {
            Some((cached_text, parsed)) if *cached_text == text => parsed.clone(),
            _ => {
                let parsed = parse_lesson(&id, &rel, &text);
                loader.cache.lessons.insert(rel.clone(), (text, parsed.clone()));
                parsed
            }
        };
        loader.diagnostics.extend(parsed.diagnostics);
        let mut lesson = parsed.value;
        loader.resolve_sources(&id, &rel, &mut lesson.blocks);
        lessons.push(lesson);
    }
    if lessons.is_empty() {
        loader.diagnostics.push(Diagnostic::warning(
            "course.toml",
            Span::new(0, 0),
            "the course has no lessons: add Markdown files under `lessons/`",
        ));
    }
    let course = Course { config, lessons, exercises };
    loader.cross_checks(&course);
    loader.diagnostics.sort_by(|a, b| (&a.file, a.span.start).cmp(&(&b.file, b.span.start)));
    LoadedCourse { course, diagnostics: loader.diagnostics, sources: loader.sources }
}

impl Loader<'_> {
    fn error(&mut self, file: &Path, span: Span, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(file, span, message));
    }

    /// Reads a UTF-8 file of the course and remembers its text; reports what goes wrong.
    fn read_text(&mut self, rel: &Path) -> Option<String> {
        let path = self.root.join(rel);
        let stamp = fs::metadata(&path).ok().map(|m| (m.modified().ok(), m.len()));
        if let (Some((modified, len)), Some((m, l, text))) = (stamp, self.cache.files.get(rel))
            && modified == *m && len == *l && modified.is_some() {
                self.sources.insert(rel.to_path_buf(), text.clone());
                return Some(text.clone());
            }
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                self.error(rel, Span::new(0, 0), format!("cannot read {}: {e}", rel.display()));
                return None;
            }
        };
        match String::from_utf8(bytes) {
            Ok(text) => {
                self.sources.insert(rel.to_path_buf(), text.clone());
                if let Some((modified, len)) = stamp {
                    self.cache.files.insert(rel.to_path_buf(), (modified, len, text.clone()));
                }
                Some(text)
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let byte = e.as_bytes()[at];
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                // The lossy text is identical up to `at`, so the span's line and column hold.
                self.sources.insert(rel.to_path_buf(), lossy);
                self.error(rel, Span::new(at, at + 1), format!("file is not UTF-8: byte 0x{byte:02X} cannot start a character"));
                None
            }
        }
    }

    /// `(stem, relative path)` of the entries of `dir` that `keep` accepts, sorted by name.
    fn files_in(&mut self, dir: &str, keep: impl Fn(&Path) -> bool) -> Vec<(String, PathBuf)> {
        let Ok(entries) = fs::read_dir(self.root.join(dir)) else { return Vec::new() };
        let mut out: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| Path::new(dir).join(e.file_name()))
            .filter(|rel| keep(&self.root.join(rel)))
            .filter_map(|rel| {
                let stem = rel.file_stem()?.to_str()?.to_string();
                Some((stem, rel))
            })
            .collect();
        out.sort();
        out
    }

    fn config(&mut self) -> CourseConfig {
        let rel = Path::new("course.toml");
        let fallback = CourseConfig {
            code: String::new(),
            title: String::new(),
            language: "en".into(),
            ui_language: "en".into(),
            mode: Mode::Practice,
            runner: RunnerConfig::default(),
            grading: GradingConfig::default(),
            site: SiteConfig::default(),
        };
        if !self.root.join(rel).is_file() {
            self.error(rel, Span::new(0, 0), format!("{} has no course.toml: is this a course folder?", self.root.display()));
            return fallback;
        }
        let Some(text) = self.read_text(rel) else { return fallback };
        let raw: RawConfig = match toml::from_str(&text) {
            Ok(raw) => raw,
            Err(e) => {
                let span = e.span().map_or(Span::new(0, 0), Span::from);
                self.error(rel, span, format!("course.toml: {}", e.message().trim()));
                return fallback;
            }
        };
        let mode = match &raw.mode {
            None => Mode::Practice,
            Some(m) => match m.get_ref().as_str() {
                "practice" => Mode::Practice,
                "exam" => Mode::Exam,
                other => {
                    self.error(rel, Span::from(m.span()), format!("unknown mode `{other}`; expected `practice` or `exam`"));
                    Mode::Practice
                }
            },
        };
        let multiple_choice = match &raw.grading.multiple_choice {
            None => ChoicePolicy::default(),
            Some(p) => ChoicePolicy::parse(p.get_ref()).unwrap_or_else(|| {
                self.error(
                    rel,
                    Span::from(p.span()),
                    format!("unknown policy `{}`; expected `all-or-nothing` or `right-minus-wrong`", p.get_ref()),
                );
                ChoicePolicy::default()
            }),
        };
        let tables = [("", raw.other.keys()), ("[runner] ", raw.runner.other.keys()), ("[grading] ", raw.grading.other.keys()), ("[site] ", raw.site.other.keys())];
        for (table, keys) in tables {
            for key in keys {
                let at = find_key(&text, key).unwrap_or_default();
                self.diagnostics.push(Diagnostic::warning(rel, at, format!("unknown key `{table}{key}` in course.toml")));
            }
        }
        let lock = self.lock(&text, &raw.runner.requirements);
        CourseConfig {
            code: raw.code,
            title: raw.title,
            ui_language: raw.ui_language.or_else(|| raw.language.clone()).unwrap_or_else(|| "en".into()),
            language: raw.language.unwrap_or_else(|| "en".into()),
            mode,
            runner: RunnerConfig { requirements: raw.runner.requirements, lock },
            grading: GradingConfig { multiple_choice },
            site: SiteConfig { search: raw.site.search.unwrap_or(true) },
        }
    }

    /// The course's lock file, and a warning when it is missing or was made from other
    /// requirements than `requirements` (`toml` is course.toml's text, for the span).
    fn lock(&mut self, toml: &str, requirements: &[String]) -> Option<String> {
        let rel = Path::new("course.toml");
        let at = find_key(toml, "requirements").unwrap_or_default();
        let lock = self.root.join(crate::model::LOCK_FILE).is_file().then(|| self.read_text(Path::new(crate::model::LOCK_FILE))).flatten();
        if requirements.is_empty() {
            return lock;
        }
        match lock.as_deref().map(crate::model::locked_requirements) {
            None => self.diagnostics.push(Diagnostic::warning(
                rel,
                at,
                format!(
                    "the course has no {}: each machine resolves `[runner] requirements` on its own day, so two graders can grade with different versions; run `lectern lock {}`",
                    crate::model::LOCK_FILE,
                    self.root.display()
                ),
            )),
            Some(locked) if locked.as_deref() != Some(requirements) => self.diagnostics.push(Diagnostic::warning(
                rel,
                at,
                format!(
                    "{} was made from other requirements ({}) than `[runner] requirements`: run `lectern lock {}` again",
                    crate::model::LOCK_FILE,
                    locked.map_or_else(|| "it has no `# requirements = […]` header".to_owned(), |l| format!("{l:?}")),
                    self.root.display()
                ),
            )),
            Some(_) => {}
        }
        lock
    }

    fn exercises(&mut self) -> BTreeMap<String, crate::model::Exercise> {
        let mut out = BTreeMap::new();
        for (id, dir) in self.files_in("exercises", Path::is_dir) {
            let toml_rel = dir.join("exercise.toml");
            if !self.root.join(&toml_rel).is_file() {
                self.diagnostics.push(Diagnostic::warning(
                    &dir,
                    Span::new(0, 0),
                    "this exercise folder has no exercise.toml and is ignored",
                ));
                continue;
            }
            let Some(text) = self.read_text(&toml_rel) else { continue };
            let starter_rel = dir.join("starter.py");
            let starter = if self.root.join(&starter_rel).is_file() {
                self.read_text(&starter_rel).unwrap_or_default()
            } else {
                self.error(&toml_rel, Span::new(0, 0), format!("exercise `{id}` has no starter.py"));
                String::new()
            };
            let solution_rel = dir.join("solution.py");
            let solution = if self.root.join(&solution_rel).is_file() {
                self.read_text(&solution_rel)
            } else {
                self.diagnostics.push(Diagnostic::warning(
                    &toml_rel,
                    Span::new(0, 0),
                    format!("exercise `{id}` has no solution.py: nothing shows that it can be solved"),
                ));
                None
            };
            let parsed = parse_exercise(&id, &toml_rel, &text, starter, solution);
            self.diagnostics.extend(parsed.diagnostics);
            if let Some(exercise) = parsed.value {
                out.insert(id, exercise);
            }
        }
        out
    }

    /// Fills in the text of every `src=` code block from `lessons/<id>/`.
    fn resolve_sources(&mut self, lesson_id: &str, rel: &Path, blocks: &mut [Block]) {
        for_each_code_mut(blocks, &mut |code: &mut CodeBlock| {
            let Some(src) = code.src.clone() else { return };
            let path = Path::new(&src);
            let escapes = path.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
            if src.is_empty() || escapes {
                self.error(rel, code.span, format!("`src={src}` must name a file inside lessons/{lesson_id}/"));
                return;
            }
            if !code.text.trim().is_empty() {
                self.error(rel, code.span, "a code block with `src=` must be empty: its text comes from the file");
            }
            let file = Path::new("lessons").join(lesson_id).join(path);
            if !self.root.join(&file).is_file() {
                self.error(rel, code.span, format!("`src={src}` does not exist: looked for {}", file.display()));
                return;
            }
            if let Some(body) = self.read_text(&file) {
                code.text = body;
            }
        });
    }

    /// Links between the course's pages: a lesson page (`02-x.html`), an anchor on it or
    /// on this page (`#example-1`, [`crate::anchors`]), or a file of the course. A link
    /// to something that does not exist is a warning (an error under `-D`).
    fn check_links(&mut self, course: &Course) {
        let pages: BTreeMap<&str, &Lesson> = course.lessons.iter().map(|l| (l.id.as_str(), l)).collect();
        let mut found = Vec::new();
        for lesson in &course.lessons {
            for (span, dest) in &lesson.links {
                let dest = dest.trim();
                // A scheme (`https:`, `mailto:`) or a site-absolute path: not ours to check.
                let scheme = dest.find(':').is_some_and(|i| dest[..i].chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) && i > 0);
                if scheme || dest.starts_with('/') || dest.is_empty() {
                    continue;
                }
                let (path, fragment) = dest.split_once('#').unwrap_or((dest, ""));
                let path = path.split('?').next().unwrap_or("").trim_start_matches("./");
                let target: Option<&Lesson> = if path.is_empty() {
                    Some(lesson)
                } else if let Some(page) = path.strip_suffix(".html") {
                    if page == "index" {
                        None
                    } else if let Some(l) = pages.get(page) {
                        Some(l)
                    } else {
                        found.push(Diagnostic::warning(&lesson.file, *span, format!("this link goes to `{path}`, but the course has no lesson `{page}` (its pages: {})", pages.keys().map(|p| format!("{p}.html")).collect::<Vec<_>>().join(", "))));
                        continue;
                    }
                } else {
                    let file = self.root.join(&lesson.file).parent().map(|d| d.join(path));
                    if let Some(stem) = path.strip_suffix(".md").filter(|p| pages.contains_key(p)) {
                        found.push(Diagnostic::warning(&lesson.file, *span, format!("this link goes to the lesson's source `{path}`; the site has `{stem}.html`")));
                    } else if !file.is_some_and(|f| f.exists()) {
                        found.push(Diagnostic::warning(&lesson.file, *span, format!("this link goes to `{path}`, which is not a file of the course (relative to {})", lesson.file.parent().map_or(String::new(), |p| p.display().to_string()))));
                    }
                    continue;
                };
                if let Some(target) = target
                    && !fragment.is_empty()
                    && !target.anchors.iter().any(|a| a == fragment)
                {
                    let mut near: Vec<&str> = target.anchors.iter().map(String::as_str).filter(|a| !a.starts_with("fn-")).collect();
                    near.sort_unstable();
                    near.truncate(12);
                    found.push(Diagnostic::warning(&lesson.file, *span, format!("this link goes to `#{fragment}` on `{}.html`, which has no such id (ids there: {})", target.id, near.join(", "))));
                }
            }
        }
        self.diagnostics.extend(found);
    }

    fn cross_checks(&mut self, course: &Course) {
        self.check_links(course);
        // Quizzes and challenges share one ID space: hand-ins name them by ID.
        let mut seen: BTreeMap<&str, (&Path, Span, &str)> = BTreeMap::new();
        let mut found = Vec::new();
        for lesson in &course.lessons {
            for block in &lesson.blocks {
                let (id, span, what) = match block {
                    Block::Quiz(q) => (q.id.as_str(), q.span, "quiz"),
                    Block::Challenge(c) => (c.id.as_str(), c.span, "challenge"),
                    Block::Exercise(e) => {
                        if !course.exercises.contains_key(&e.id) {
                            found.push(Diagnostic::error(
                                &lesson.file,
                                e.span,
                                format!("exercise `{}` does not exist: there is no exercises/{}/exercise.toml", e.id, e.id),
                            ));
                        }
                        continue;
                    }
                    _ => continue,
                };
                if let Some((file, first, first_what)) = seen.get(id) {
                    found.push(
                        Diagnostic::error(&lesson.file, span, format!("duplicate ID `{id}`: IDs are unique across the course"))
                            .with_related(*file, *first, format!("first used by a {first_what}")),
                    );
                } else {
                    seen.insert(id, (&lesson.file, span, what));
                }
            }
        }
        self.diagnostics.extend(found);
    }
}

fn for_each_code_mut(blocks: &mut [Block], f: &mut dyn FnMut(&mut CodeBlock)) {
    for block in blocks {
        match block {
            Block::Code(c) => f(c),
            Block::Cards(cards) => cards.cards.iter_mut().for_each(|c| for_each_code_mut(&mut c.body, f)),
            Block::Quiz(q) => {
                for_each_code_mut(&mut q.prompt, f);
                for_each_code_mut(&mut q.explanation, f);
            }
            Block::Challenge(ch) => {
                for_each_code_mut(&mut ch.prompt, f);
                for s in &mut ch.steps {
                    for_each_code_mut(&mut s.prompt, f);
                    for_each_code_mut(&mut s.solution, f);
                }
            }
            Block::Markdown(_) | Block::Callout(_) | Block::Exercise(_) => {}
        }
    }
}

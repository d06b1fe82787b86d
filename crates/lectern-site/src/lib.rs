//! The static site compiler: a [`lectern_lesson::Course`] in, the files of an offline
//! website out (HTML pages, one stylesheet, one small script, the math font).
//!
//! It knows the course model and templates. It must never know how student code is run
//! or graded, and in exam mode no part of the answer key ever reaches a template (see
//! [`view`]). Pages render through tera 2 templates kept in the repository's
//! `templates/site/`, compiled into the binary; a course's own `templates/` folder
//! overrides any of them, or any asset, by file name.

mod cjk;
pub mod highlight;
pub mod i18n;
pub mod mathml;
pub mod output;
pub mod render;
pub mod view;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use lectern_lesson::{Course, Mode};

pub use output::write_site;

/// The built-in templates, by the file name a course overrides them with.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../templates/site/base.html")),
    ("index.html", include_str!("../../../templates/site/index.html")),
    ("lesson.html", include_str!("../../../templates/site/lesson.html")),
    ("callout.html", include_str!("../../../templates/site/callout.html")),
    ("code.html", include_str!("../../../templates/site/code.html")),
    ("cards.html", include_str!("../../../templates/site/cards.html")),
    ("quiz.html", include_str!("../../../templates/site/quiz.html")),
    ("challenge.html", include_str!("../../../templates/site/challenge.html")),
    ("exercise.html", include_str!("../../../templates/site/exercise.html")),
];

/// The built-in assets: (path in the site, bytes).
const ASSETS: &[(&str, &[u8])] = &[
    ("assets/lectern.css", include_bytes!("../../../templates/site/assets/lectern.css")),
    ("assets/lectern.js", include_bytes!("../../../templates/site/assets/lectern.js")),
    ("assets/math/pulldown-latex.css", include_bytes!("../../../templates/site/assets/math/pulldown-latex.css")),
    ("assets/math/latinmodern-math.woff2", include_bytes!("../../../templates/site/assets/math/latinmodern-math.woff2")),
    ("assets/math/NOTICE", include_bytes!("../../../templates/site/assets/math/NOTICE")),
    ("assets/math/LICENSE-pulldown-latex", include_bytes!("../../../templates/site/assets/math/LICENSE-pulldown-latex")),
];

/// The element of every page whose text a search index reads (the page's own content:
/// not the header, the footer or the navigation).
pub const SEARCH_ROOT: &str = "main";

/// Elements of a page that a search index must never read: solutions, explanations
/// and the answer key's data (in exam mode they are not in the page at all; in practice
/// mode they are hidden until asked for, and a search result must not show them; the
/// key itself lives in attributes, which are never indexed), scripts and templates
/// (captured output), terminals, the pager, the search box's own results, and formulas
/// (MathML's letters one by one are not words anyone searches for).
pub const NOT_SEARCHED: &[&str] =
    &[".solution", ".explanation", "template", "script", ".terminal", ".site-search", "nav", "math"];

/// The file that marks a folder as a Lectern build (so a rebuild may replace it).
pub const MARKER: &str = ".lectern-build";

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `None`: the course's own mode.
    pub mode: Option<Mode>,
    /// Captured output of runnable code blocks, by [`view::code_key`].
    pub run_outputs: BTreeMap<String, String>,
    /// The course's `templates/` folder, if it has one.
    pub templates_dir: Option<PathBuf>,
    /// Set by `lectern serve`: the version pages poll for live reload.
    pub serve_version: Option<String>,
}

/// A built site: file path (relative, `/`-separated) → bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    pub files: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug)]
#[non_exhaustive]
pub enum SiteError {
    /// A template (built-in or the course's) does not compile or render.
    Template { name: String, message: String },
    /// A file could not be read or written.
    Io { path: PathBuf, message: String },
    /// `--out` names a folder that holds something other than a Lectern build.
    NotALecternBuild { path: PathBuf },
}

impl fmt::Display for SiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiteError::Template { name, message } => write!(f, "template {name}: {message}"),
            SiteError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            SiteError::NotALecternBuild { path } => write!(
                f,
                "{} exists and is not a Lectern build (it has no {MARKER}); refusing to overwrite it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for SiteError {}

/// Templates compiled once, and the course's view: renders any page of the site.
pub struct Renderer<'a> {
    tera: tera::Tera,
    course: &'a Course,
    mode: Mode,
    options: &'a BuildOptions,
    ui: BTreeMap<&'static str, &'static str>,
    /// Course overrides of assets, by site path.
    asset_overrides: BTreeMap<String, Vec<u8>>,
}

impl fmt::Debug for Renderer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl<'a> Renderer<'a> {
    pub fn new(course: &'a Course, options: &'a BuildOptions) -> Result<Self, SiteError> {
        let mut templates: BTreeMap<String, String> =
            TEMPLATES.iter().map(|(n, t)| ((*n).to_string(), (*t).to_string())).collect();
        let mut asset_overrides = BTreeMap::new();
        if let Some(dir) = &options.templates_dir {
            for (name, bytes) in read_dir_files(dir)? {
                if let Some(template) = templates.get_mut(&name) {
                    *template = String::from_utf8(bytes)
                        .map_err(|_| SiteError::Io { path: dir.join(&name), message: "not UTF-8".into() })?;
                } else if let Some((path, _)) = ASSETS.iter().find(|(p, _)| p.rsplit('/').next() == Some(name.as_str())) {
                    asset_overrides.insert((*path).to_string(), bytes);
                }
            }
        }
        let mut tera = tera::Tera::new();
        tera.add_raw_templates(templates.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| SiteError::Template { name: "templates".into(), message: e.to_string() })?;
        let mode = options.mode.unwrap_or(course.config.mode);
        let ui = i18n::strings(&course.config.ui_language);
        Ok(Renderer { tera, course, mode, options, ui, asset_overrides })
    }

    /// What every page knows; only the index lists the lessons (a list on every page
    /// would make a course's build time grow with the square of its length).
    fn site_view(&self, with_lessons: bool) -> view::SiteView<'_> {
        let ui_json = serde_json::to_string(&self.ui).unwrap_or_default().replace("</", "<\\/");
        view::SiteView {
            code: &self.course.config.code,
            title: &self.course.config.title,
            language: &self.course.config.language,
            mode: match self.mode {
                Mode::Practice => "practice",
                Mode::Exam => "exam",
            },
            ui: self.ui.clone(),
            ui_json,
            rules_json: match self.mode {
                Mode::Practice => serde_json::to_string(&lectern_lesson::answer::page_rules()).unwrap_or_default().replace("</", "<\\/"),
                Mode::Exam => String::new(),
            },
            lessons: if with_lessons { self.course.lessons.iter().map(view::link).collect() } else { Vec::new() },
            serve: self.options.serve_version.clone(),
            search: self.course.config.site.search,
        }
    }

    fn render(&self, template: &str, context: tera::Context) -> Result<Vec<u8>, SiteError> {
        self.tera
            .render(template, &context)
            .map(String::into_bytes)
            .map_err(|e| SiteError::Template { name: template.into(), message: error_chain(&e) })
    }

    /// `index.html`.
    pub fn index(&self) -> Result<Vec<u8>, SiteError> {
        let mut context = tera::Context::new();
        context.insert("site", &self.site_view(true));
        self.render("index.html", context)
    }

    /// The page of lesson `index` (in course order), and its file name.
    pub fn lesson(&self, index: usize) -> Result<(String, Vec<u8>), SiteError> {
        let builder = view::ViewBuilder { course: self.course, mode: self.mode, outputs: &self.options.run_outputs, ui: &self.ui };
        let lesson = builder.lesson(index);
        let mut context = tera::Context::new();
        context.insert("site", &self.site_view(false));
        context.insert("lesson", &lesson);
        Ok((format!("{}.html", lesson.id), self.render("lesson.html", context)?))
    }

    /// The assets, with the course's overrides.
    pub fn assets(&self) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
        ASSETS.iter().map(|(path, bytes)| {
            let bytes = self.asset_overrides.get(*path).cloned().unwrap_or_else(|| bytes.to_vec());
            ((*path).to_string(), bytes)
        })
    }
}

/// Builds the whole site in memory, lesson pages on every core.
pub fn build(course: &Course, options: &BuildOptions) -> Result<Site, SiteError> {
    let renderer = Renderer::new(course, options)?;
    let mut site = Site::default();
    site.files.insert("index.html".into(), renderer.index()?);
    let n = course.lessons.len();
    let workers = std::thread::available_parallelism().map_or(1, |p| p.get()).min(n.max(1));
    let chunk = n.div_ceil(workers).max(1);
    type Pages = Result<Vec<(String, Vec<u8>)>, SiteError>;
    let pages: Vec<Pages> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let renderer = &renderer;
                scope.spawn(move || (start..(start + chunk).min(n)).map(|i| renderer.lesson(i)).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(SiteError::Template { name: "lesson.html".into(), message: "a render thread panicked".into() })))
            .collect()
    });
    for part in pages {
        site.files.extend(part?);
    }
    site.files.extend(renderer.assets());
    Ok(site)
}

fn read_dir_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let io = |e: std::io::Error| SiteError::Io { path: dir.to_path_buf(), message: e.to_string() };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if path.is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                let bytes = std::fs::read(&path).map_err(|e| SiteError::Io { path: path.clone(), message: e.to_string() })?;
                out.push((name.to_string(), bytes));
            }
    }
    out.sort();
    Ok(out)
}

/// A tera error with its causes, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

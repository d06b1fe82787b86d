//! `lectern new`: a course skeleton that passes `lectern check` and shows each feature once.
//!
//! The files live in `templates/new-course/` and are compiled into the binary.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

/// (path inside the course, contents) of every skeleton file.
const FILES: &[(&str, &str)] = &[
    ("course.toml", include_str!("../../../templates/new-course/course.toml")),
    // `lectern lock` needs the package index; a new course starts from the versions
    // Lectern's own demo course is tested with (`lectern lock` makes it anew).
    ("requirements.lock", include_str!("../../../templates/new-course/requirements.lock")),
    ("lessons/01-welcome.md", include_str!("../../../templates/new-course/lessons/01-welcome.md")),
    ("lessons/01-welcome/hello.py", include_str!("../../../templates/new-course/lessons/01-welcome/hello.py")),
    (
        "exercises/attention/exercise.toml",
        include_str!("../../../templates/new-course/exercises/attention/exercise.toml"),
    ),
    ("exercises/attention/starter.py", include_str!("../../../templates/new-course/exercises/attention/starter.py")),
    ("exercises/attention/solution.py", include_str!("../../../templates/new-course/exercises/attention/solution.py")),
];

pub fn run(dir: &Path, code: Option<&str>) -> Result<ExitCode> {
    if dir.exists() {
        let empty = dir.is_dir() && fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty {
            bail!("{} already exists and is not an empty folder; choose a new path", dir.display());
        }
    }
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("course");
    let code = code.map_or_else(|| name.to_uppercase(), str::to_string);
    let toml_string = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let text = if *rel == "course.toml" {
            text.replace("{{code}}", &toml_string(&code)).replace("{{title}}", &toml_string(name))
        } else {
            (*text).to_string()
        };
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("created course {code} in {}", dir.display());
    println!("next: lectern check {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

//! Reading hand-ins: one folder per student, in a folder or in a `.zip` as LMSs export
//! them. Only the files grading needs are read (`answers.toml` and each exercise's
//! entry file), each under a size limit; symbolic links are never followed; zip entries
//! that would land outside their folder are refused. Whatever is wrong with one hand-in
//! is said in that hand-in's own message and harms no other.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use crate::GradeError;

/// The name of the answers file in a hand-in.
pub const ANSWERS: &str = "answers.toml";

/// One student's folder, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct HandIn {
    /// The folder's name (for a name that is not UTF-8, its escaped form): unique in the
    /// batch, the key of the hand-in in the gradebook.
    pub source: String,
    /// The files grading needs, by name.
    pub files: BTreeMap<String, Vec<u8>>,
    /// What was wrong with single files (too big, a link, …), said to the student.
    pub problems: Vec<String>,
    /// Set when nothing of the hand-in can be graded.
    pub error: Option<String>,
}

impl HandIn {
    fn new(source: String) -> HandIn {
        HandIn { source, files: BTreeMap::new(), problems: Vec::new(), error: None }
    }

    /// A digest of everything read from the hand-in: a rerun regrades the hand-in only
    /// when this (or the key) changed.
    pub fn content_hash(&self) -> String {
        let mut parts: Vec<&[u8]> = Vec::new();
        for (name, bytes) in &self.files {
            parts.push(name.as_bytes());
            parts.push(bytes);
        }
        for p in &self.problems {
            parts.push(p.as_bytes());
        }
        if let Some(e) = &self.error {
            parts.push(e.as_bytes());
        }
        format!("{:016x}", lectern_lesson::stable_hash(parts))
    }
}

/// What may be read.
#[derive(Debug, Clone)]
pub struct ReadLimits {
    /// The largest file read (bytes); a larger one is reported, not read.
    pub max_file_bytes: u64,
    /// The file names grading needs besides `answers.toml` (the exercises' entries).
    pub wanted: BTreeSet<String>,
}

/// A hand-in found in the submissions, read when a worker gets to it (a folder) or
/// already read (an entry of a zip, or one refused outright).
#[derive(Debug)]
pub struct Pending {
    pub source: String,
    folder: Option<std::path::PathBuf>,
    read: Option<HandIn>,
}

impl Pending {
    /// Reads the hand-in's files.
    pub fn load(self, limits: &ReadLimits) -> HandIn {
        match (self.read, self.folder) {
            (Some(h), _) => h,
            (None, Some(dir)) => {
                let mut h = HandIn::new(self.source);
                read_handin_folder(&dir, limits, &mut h);
                h
            }
            (None, None) => HandIn::new(self.source),
        }
    }
}

/// Every hand-in under `path` (a folder of folders, or a `.zip` of them), sorted by
/// source name, plus notes about what was skipped at the top level. Folders are only
/// listed here; [`Pending::load`] reads them.
pub fn list_submissions(path: &Path, limits: &ReadLimits) -> Result<(Vec<Pending>, Vec<String>), GradeError> {
    let meta = std::fs::metadata(path).map_err(|e| GradeError::Submissions { path: path.to_owned(), message: e.to_string() })?;
    let (mut pending, notes) = if meta.is_dir() {
        list_folder(path)?
    } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        let (handins, notes) = read_zip(path, limits)?;
        (handins.into_iter().map(|h| Pending { source: h.source.clone(), folder: None, read: Some(h) }).collect(), notes)
    } else {
        return Err(GradeError::Submissions { path: path.to_owned(), message: "expected a folder of hand-ins or a .zip of them".into() });
    };
    pending.sort_by(|a, b| a.source.cmp(&b.source));
    Ok((pending, notes))
}

fn is_wanted(name: &str, limits: &ReadLimits) -> bool {
    name == ANSWERS || limits.wanted.contains(name)
}

fn list_folder(path: &Path) -> Result<(Vec<Pending>, Vec<String>), GradeError> {
    let err = |e: std::io::Error| GradeError::Submissions { path: path.to_owned(), message: e.to_string() };
    let mut pending = Vec::new();
    let mut notes = Vec::new();
    for entry in std::fs::read_dir(path).map_err(err)? {
        let entry = entry.map_err(err)?;
        let name = entry.file_name();
        let file_type = entry.file_type().map_err(err)?;
        let (source, utf8) = match name.to_str() {
            Some(s) => (s.to_owned(), true),
            None => (format!("{name:?}").trim_matches('"').to_owned(), false),
        };
        if source.starts_with('.') {
            continue;
        }
        let refused = |message: &str| {
            let mut h = HandIn::new(source.clone());
            h.error = Some(message.to_owned());
            Pending { source: source.clone(), folder: None, read: Some(h) }
        };
        if file_type.is_symlink() {
            pending.push(refused("the hand-in is a symbolic link; links are never followed"));
        } else if !file_type.is_dir() {
            notes.push(format!("{source}: not a folder, skipped"));
        } else if !utf8 {
            pending.push(refused("the folder's name is not valid UTF-8; rename it to the student's ID"));
        } else {
            pending.push(Pending { source, folder: Some(entry.path()), read: None });
        }
    }
    Ok((pending, notes))
}

fn read_handin_folder(dir: &Path, limits: &ReadLimits, h: &mut HandIn) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            h.error = Some(format!("cannot read the folder: {e}"));
            return;
        }
    };
    let mut names: Vec<_> = entries.filter_map(Result::ok).collect();
    names.sort_by_key(std::fs::DirEntry::file_name);
    for entry in names {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            h.problems.push(format!("a file name that is not valid UTF-8 ({:?}) was skipped", entry.file_name()));
            continue;
        };
        if !is_wanted(&name, limits) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else { continue };
        if meta.file_type().is_symlink() {
            h.problems.push(format!("{name} is a symbolic link; links are never followed, so it was not read"));
        } else if !meta.is_file() {
            h.problems.push(format!("{name} is not a regular file; not read"));
        } else if meta.len() > limits.max_file_bytes {
            h.problems.push(format!("{name} is {} bytes, over the limit of {}; not read", meta.len(), limits.max_file_bytes));
        } else {
            match std::fs::File::open(entry.path()).and_then(|f| read_capped(f, limits.max_file_bytes)) {
                Ok(Some(bytes)) => {
                    h.files.insert(name, bytes);
                }
                Ok(None) => h.problems.push(format!("{name} grew over the limit of {} bytes while read; not read", limits.max_file_bytes)),
                Err(e) => h.problems.push(format!("{name} could not be read: {e}")),
            }
        }
    }
}

/// Reads at most `max` bytes; `None` when there is more.
fn read_capped(r: impl Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    r.take(max + 1).read_to_end(&mut bytes)?;
    Ok(if bytes.len() as u64 > max { None } else { Some(bytes) })
}

fn read_zip(path: &Path, limits: &ReadLimits) -> Result<(Vec<HandIn>, Vec<String>), GradeError> {
    let err = |message: String| GradeError::Submissions { path: path.to_owned(), message };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| err(format!("not a readable zip: {e}")))?;
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| err(e.to_string()))?;
        names.push(entry.name().to_owned());
    }
    // An LMS may wrap every folder in one top folder: look through it.
    let strip = common_top(&names);
    let mut handins: BTreeMap<String, HandIn> = BTreeMap::new();
    let mut notes = Vec::new();
    for (i, raw) in names.iter().enumerate() {
        let name = raw.strip_prefix(strip.as_str()).unwrap_or(raw);
        let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
        let unsafe_path = raw.starts_with('/') || raw.contains('\\') || parts.iter().any(|p| *p == ".." || *p == ".") || raw.chars().nth(1) == Some(':');
        let Some(first) = parts.first().map(|s| (*s).to_owned()) else { continue };
        if unsafe_path {
            if parts.len() >= 2 && !raw.starts_with('/') && first != ".." {
                let h = handins.entry(first.clone()).or_insert_with(|| HandIn::new(first.clone()));
                h.error = Some(format!("the zip entry `{raw}` leaves its folder (`..` or an absolute path); the hand-in was refused"));
            } else {
                notes.push(format!("zip entry `{raw}` has `..` or an absolute path: skipped"));
            }
            continue;
        }
        if first.starts_with('.') || first == "__MACOSX" {
            continue;
        }
        let h = handins.entry(first.clone()).or_insert_with(|| HandIn::new(first.clone()));
        if parts.len() != 2 {
            if parts.len() == 1 && !raw.ends_with('/') {
                handins.remove(&first);
                notes.push(format!("{first}: not a folder, skipped"));
            }
            continue;
        }
        let file_name = parts[1];
        if !is_wanted(file_name, limits) || h.error.is_some() {
            continue;
        }
        let mut entry = match archive.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                // An entry this build cannot unpack (another compression, encryption)
                // is this hand-in's problem, not the batch's.
                h.problems.push(format!("{file_name} could not be unpacked: {e}"));
                continue;
            }
        };
        if entry.is_symlink() {
            h.problems.push(format!("{file_name} is a symbolic link; links are never followed, so it was not read"));
        } else if entry.is_dir() {
            h.problems.push(format!("{file_name} is a folder; not read"));
        } else if entry.size() > limits.max_file_bytes {
            h.problems.push(format!("{file_name} is {} bytes, over the limit of {}; not read", entry.size(), limits.max_file_bytes));
        } else {
            match read_capped(&mut entry, limits.max_file_bytes) {
                Ok(Some(bytes)) => {
                    h.files.insert(file_name.to_owned(), bytes);
                }
                Ok(None) => h.problems.push(format!("{file_name} unpacks to more than {} bytes; not read", limits.max_file_bytes)),
                Err(e) => h.problems.push(format!("{file_name} could not be unpacked: {e}")),
            }
        }
    }
    Ok((handins.into_values().collect(), notes))
}

/// `top/` when every entry of the zip lies under that one folder and some lie two
/// folders deep (`top/s001/answers.toml`).
fn common_top(names: &[String]) -> String {
    // Entries that would leave the archive are refused anyway; they decide nothing here.
    let names: Vec<&String> = names.iter().filter(|n| !n.starts_with('/') && !n.split('/').any(|p| p == "..")).collect();
    let Some(first) = names.iter().find_map(|n| n.split('/').next().filter(|s| !s.is_empty())) else {
        return String::new();
    };
    let prefix = format!("{first}/");
    let all_under = names.iter().all(|n| n.starts_with(&prefix) || *n == first || n.starts_with("__MACOSX"));
    let deep = names.iter().any(|n| n.strip_prefix(&prefix).is_some_and(|rest| rest.trim_end_matches('/').contains('/')));
    if all_under && deep { prefix } else { String::new() }
}

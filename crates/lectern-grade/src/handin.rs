//! Reading hand-ins: one folder per student, in a folder or in a `.zip`, or laid out as
//! LMSs deliver them: Canvas's flat submission download (every student's files side by
//! side, `smithjane_LATE_12345_67890_answers.toml`) and Moodle's "Download all
//! submissions" (a folder per participant, `Jane Smith_1234567_assignsubmission_file_`,
//! or the same names flat). Only the files grading needs are read (`answers.toml` and
//! each exercise's entry file), each under a size limit; symbolic links are never
//! followed; zip entries that would land outside their folder are refused. Whatever is
//! wrong with one hand-in is said in that hand-in's own message and harms no other.
//!
//! The layout is told from the names at the top, strictly: folders without Moodle's
//! names are one folder per student, as they always were; a Canvas or Moodle layout must
//! hold nothing but its own names, and a name in it that cannot be read stops the batch
//! with a message naming it, before anything is written (whose work it is cannot be
//! guessed). The names given to hand-ins are never used as paths.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use crate::answers::{shown, valid_student_id};
use crate::GradeError;

/// The name of the answers file in a hand-in.
pub const ANSWERS: &str = "answers.toml";

/// One student's folder, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct HandIn {
    /// The folder's name (for a name that is not UTF-8, its escaped form): unique in the
    /// batch, the key of the hand-in in the gradebook. For a hand-in from an LMS's layout,
    /// the student's ID taken from the names ([`Origin::student`]).
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

/// The LMS whose download layout a hand-in came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lms {
    Canvas,
    Moodle,
}

impl std::fmt::Display for Lms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lms::Canvas => "Canvas",
            Lms::Moodle => "Moodle",
        })
    }
}

/// What an LMS's download said about a hand-in besides its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub lms: Lms,
    /// The student's ID as the names give it: Canvas's user ID ([`CanvasName::user`]),
    /// Moodle's participant ID ([`MoodleName::participant`]). It is the hand-in's source
    /// and the student's row, whatever `student` in `answers.toml` says: the LMS knows
    /// who uploaded, and this is the ID its own gradebook matches on.
    pub student: String,
    /// Canvas's `LATE` mark: `Some(true)` when Canvas marked the submission late,
    /// `Some(false)` when it did not; `None` where the layout carries no such mark
    /// (Moodle's names say nothing of it).
    pub late: Option<bool>,
}

/// [`HandIn::content_hash`], with the LATE mark mixed in where the layout carries one, so
/// that a rerun records a mark that changed (a deadline extended) even when no file did.
/// A hand-in without a mark hashes exactly as before.
pub fn content_hash(handin: &HandIn, origin: Option<&Origin>) -> String {
    let hash = handin.content_hash();
    match origin.and_then(|o| o.late) {
        None => hash,
        Some(late) => {
            let mark: &[u8] = if late { b"late" } else { b"on time" };
            format!("{:016x}", lectern_lesson::stable_hash([hash.as_bytes(), mark]))
        }
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

impl ReadLimits {
    fn names(&self) -> BTreeSet<&str> {
        std::iter::once(ANSWERS).chain(self.wanted.iter().map(String::as_str)).collect()
    }
}

/// A hand-in found in the submissions, read when a worker gets to it (folders and files
/// on disk) or already read (an entry of a zip, or one refused outright).
#[derive(Debug)]
pub struct Pending {
    pub source: String,
    origin: Option<Origin>,
    unread: Unread,
}

#[derive(Debug)]
enum Unread {
    /// Read already, or refused.
    Read(HandIn),
    /// One student's folder.
    Folder(PathBuf),
    /// One participant's folders in Moodle's layout (its file and online-text folders).
    Folders(Vec<PathBuf>),
    /// One student's files in a flat layout, as chosen (the name grading knows each by,
    /// and its path), and what choosing them said.
    Files { files: Vec<(String, PathBuf)>, notes: Vec<String> },
}

impl Pending {
    /// What the LMS's names said about the hand-in; `None` for a student's own folder.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// Reads the hand-in's files.
    pub fn load(self, limits: &ReadLimits) -> HandIn {
        let mut h = HandIn::new(self.source);
        match self.unread {
            Unread::Read(read) => return read,
            Unread::Folder(dir) => read_handin_folder(&dir, limits, &mut h),
            Unread::Folders(dirs) => read_folders(&dirs, limits, &mut h),
            Unread::Files { files, notes } => {
                h.problems.extend(notes);
                for (name, path) in files {
                    read_file(&name, &path, limits, &mut h);
                }
            }
        }
        h
    }
}

/// Every hand-in under `path` (a folder of folders, a `.zip` of them, or either holding an
/// LMS's layout), sorted by source name, plus notes about what was skipped at the top
/// level. Folders and files on disk are only listed here; [`Pending::load`] reads them.
pub fn list_submissions(path: &Path, limits: &ReadLimits) -> Result<(Vec<Pending>, Vec<String>), GradeError> {
    let meta = std::fs::metadata(path).map_err(|e| GradeError::Submissions { path: path.to_owned(), message: e.to_string() })?;
    let (mut pending, notes) = if meta.is_dir() {
        list_folder(path, limits)?
    } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        read_zip(path, limits)?
    } else {
        return Err(GradeError::Submissions { path: path.to_owned(), message: "expected a folder of hand-ins or a .zip of them".into() });
    };
    pending.sort_by(|a, b| a.source.cmp(&b.source));
    Ok((pending, notes))
}

fn is_wanted(name: &str, limits: &ReadLimits) -> bool {
    name == ANSWERS || limits.wanted.contains(name)
}

// ---------------------------------------------------------------------------------------
// The names LMSs give.

/// A file name in Canvas's submission download ("Download Submissions"):
/// `<name>[_LATE]_<user id>_<file id>_<file name>`, or `<name>[_LATE]_<user id>_text.html`
/// (`_link.html`) for a text (URL) entry; under anonymous grading `[LATE_]anon_<id>_…`
/// with no name. Canvas makes `<name>` from the sortable name, lowercased, without
/// punctuation or spaces (`smithjane`); names with underscores, digits or other letters
/// are read too, as long as no part of the name between underscores is all digits
/// followed by another such part: the first two such parts are the user and the file
/// (Canvas squeezes `_<digits>_` out of names for the same reason, so that its own
/// upload of marked submissions finds the IDs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanvasName {
    /// The name part (`smithjane`); empty under anonymous grading.
    pub name: String,
    /// Whether Canvas marked the submission `LATE`.
    pub late: bool,
    /// The student's ID: Canvas's numeric user ID (`anon_<id>` under anonymous grading).
    /// Not the name part: that is neither unique (two Jane Smiths are both `smithjane`)
    /// nor stable (it follows a change of name), and it is not the login. The user ID is
    /// the `ID` column of Canvas's own gradebook export, which its import matches rows
    /// on, so grades find their way back to the student.
    pub user: String,
    /// The attachment's ID (`None` for a text or URL entry).
    pub file_id: Option<String>,
    /// The file's name as handed in. On a resubmission Canvas may have numbered it
    /// (`answers-1.toml`); [`resubmission_number`] reads that.
    pub file: String,
}

/// Reads a name of Canvas's submission download; `None` when it is not one (or when its
/// user ID could not be a student ID).
pub fn parse_canvas(entry: &str) -> Option<CanvasName> {
    let tokens: Vec<&str> = entry.split('_').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // What follows the user ID: `<file id>_<file name>`, or Canvas's text or URL entry.
    let rest = |after: &[&str]| -> Option<(Option<String>, String)> {
        match after {
            [entry @ ("text.html" | "link.html")] => Some((None, (*entry).to_owned())),
            [id, name @ ..] if digits(id) && !name.is_empty() => {
                let file = name.join("_");
                (!file.is_empty()).then(|| (Some((*id).to_owned()), file))
            }
            _ => None,
        }
    };
    let finish = |before: &[&str], user: String, after: &[&str]| -> Option<CanvasName> {
        if !valid_student_id(&user) {
            return None;
        }
        let (file_id, file) = rest(after)?;
        let (late, name) = match before.split_last() {
            Some((&"LATE", name)) => (true, name),
            _ => (false, before),
        };
        Some(CanvasName { name: name.join("_"), late, user, file_id, file })
    };
    // Anonymous grading: `[LATE_]anon_<id>_…`, nothing before.
    let at = usize::from(tokens.first() == Some(&"LATE"));
    if tokens.get(at) == Some(&"anon")
        && let Some(id) = tokens.get(at + 1).filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        && let Some(name) = finish(&tokens[..at], format!("anon_{id}"), &tokens[at + 2..])
    {
        return Some(name);
    }
    (0..tokens.len()).filter(|&i| digits(tokens[i])).find_map(|i| finish(&tokens[..i], tokens[i].to_owned(), &tokens[i + 1..]))
}

/// A folder or file name in Moodle's "Download all submissions":
/// `<Full Name>_<participant id>_assignsubmission_<plugin>_` for a folder (newer versions
/// of Moodle leave out the last `_`), `<Full Name>_<participant id>_assignsubmission_<plugin>_<file name>`
/// flat (without "Download submissions in folders"). Moodle writes the name with its
/// underscores made spaces (`Participant` under blind marking), so the participant ID is
/// the digits before the first `_assignsubmission_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoodleName {
    /// The participant's full name as Moodle wrote it.
    pub name: String,
    /// The student's ID: Moodle's participant ID. Not the full name: that is neither
    /// unique nor an ID. The participant ID is the one Moodle's grading worksheet
    /// ("Download grading worksheet") names each row by (`Participant 1234567`), and
    /// matches on when it is uploaded again. Moodle numbers participants per assignment.
    pub participant: String,
    /// The submission plugin: `file`, `onlinetext`, …
    pub plugin: String,
    /// The file's name in the flat layout; empty for a folder.
    pub file: String,
}

/// Reads a name of Moodle's download of all submissions; `None` when it is not one (or
/// when its participant ID could not be a student ID).
pub fn parse_moodle(entry: &str) -> Option<MoodleName> {
    const MARK: &str = "_assignsubmission_";
    entry.match_indices(MARK).find_map(|(at, _)| {
        let (name, id) = entry[..at].rsplit_once('_')?;
        if name.is_empty() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || !valid_student_id(id) {
            return None;
        }
        let tail = &entry[at + MARK.len()..];
        let (plugin, file) = tail.split_once('_').unwrap_or((tail, ""));
        if plugin.is_empty() || !plugin.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(MoodleName { name: name.to_owned(), participant: id.to_owned(), plugin: plugin.to_owned(), file: file.to_owned() })
    })
}

/// Where Canvas's extension of a file name starts: at the first `.` from which the rest
/// is `(\.[A-Za-z][A-Za-z0-9]*)*\.[A-Za-z0-9]*` (`.py`, `.tar.gz`), as Canvas reads it when
/// it numbers a name it has seen (`model.tar.gz` → `model-1.tar.gz`).
fn canvas_extension(name: &str) -> usize {
    let fits = |rest: &str| {
        let segments: Vec<&str> = rest.split('.').skip(1).collect();
        let Some((last, inner)) = segments.split_last() else { return false };
        last.bytes().all(|b| b.is_ascii_alphanumeric())
            && inner.iter().all(|s| s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    name.match_indices('.').map(|(i, _)| i).find(|&i| fits(&name[i..])).unwrap_or(name.len())
}

/// The number Canvas gave `file` when it was handed in again under the name `wanted`
/// (`answers-2.toml` is the second resubmission of `answers.toml`): `Some(0)` for the
/// name itself, `None` for another name.
pub fn resubmission_number(file: &str, wanted: &str) -> Option<u32> {
    if file == wanted {
        return Some(0);
    }
    let (base, ext) = wanted.split_at(canvas_extension(wanted));
    if file.len() <= base.len() + ext.len() || !file.starts_with(base) || !file.ends_with(ext) {
        return None;
    }
    let number = file[base.len()..file.len() - ext.len()].strip_prefix('-')?;
    // Canvas counts from 1, without leading zeros.
    if number.is_empty() || number.len() > 9 || number.starts_with('0') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

/// One file of a student's hand-in in an LMS's layout: the name the student gave it, the
/// entry as the submissions list it (for messages), and where to read it.
#[derive(Debug, Clone)]
struct Candidate<T> {
    name: String,
    entry: String,
    at: T,
}

/// Picks, for every name grading wants, the one file of a student's hand-in that stands
/// for it: the name itself or, with `resubmissions` (Canvas), a numbered resubmission of
/// it (`answers-2.toml`), the highest number winning and the name itself counting as 0.
/// A name grading wants is never read as another's resubmission. Two files under the same
/// name and number leave that name unread: which one counts is not clear.
fn choose<T: Clone>(files: &[Candidate<T>], wanted: &BTreeSet<&str>, resubmissions: bool) -> (Vec<(String, T)>, Vec<String>) {
    let mut found: BTreeMap<&str, Vec<(u32, &Candidate<T>)>> = BTreeMap::new();
    for file in files {
        if let Some(&w) = wanted.get(file.name.as_str()) {
            found.entry(w).or_default().push((0, file));
        } else if resubmissions {
            for &w in wanted {
                if let Some(n) = resubmission_number(&file.name, w) {
                    found.entry(w).or_default().push((n, file));
                }
            }
        }
    }
    let mut chosen = Vec::new();
    let mut notes = Vec::new();
    for (name, mut versions) in found {
        versions.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.entry.cmp(&b.1.entry)));
        let top = versions[0].0;
        let tied: Vec<&str> = versions.iter().filter(|v| v.0 == top).map(|v| v.1.entry.as_str()).collect();
        if tied.len() > 1 {
            notes.push(format!("{name} was handed in {} times under the same name ({}); which one counts is not clear, so none was read", tied.len(), listed(&tied)));
            continue;
        }
        if versions.len() > 1 {
            let names: Vec<&str> = versions.iter().rev().map(|v| v.1.name.as_str()).collect();
            notes.push(format!("{name} was handed in {} times ({}); the last, `{}`, was graded", versions.len(), listed(&names), shown(&versions[0].1.name)));
        }
        chosen.push((name.to_owned(), versions[0].1.at.clone()));
    }
    (chosen, notes)
}

// ---------------------------------------------------------------------------------------
// Telling the layout.

/// How the entries at the top of the submissions are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One folder per student (the folder's name, or `student` in its answers, the ID).
    Folders,
    /// Moodle's folders: one or more per participant.
    MoodleFolders,
    /// Every student's files side by side, named as the LMS names them.
    Flat(Lms),
}

const CANVAS_NAMES: &str = "`name[_LATE]_<user id>_<file id>_<file name>`";
const MOODLE_FOLDERS: &str = "`Full Name_<participant id>_assignsubmission_file_`";
const MOODLE_FILES: &str = "`Full Name_<participant id>_assignsubmission_file_<file name>`";

/// Up to five names as people read them, for a message.
fn listed(names: &[&str]) -> String {
    let mut out: Vec<String> = names.iter().take(5).map(|n| format!("`{}`", shown(n))).collect();
    if names.len() > 5 {
        out.push(format!("and {} more", names.len() - 5));
    }
    out.join(", ")
}

fn is_are(n: usize) -> &'static str {
    if n == 1 { "is" } else { "are" }
}

/// A Moodle folder's name, read.
fn moodle_folder(name: &str) -> Option<MoodleName> {
    parse_moodle(name).filter(|m| m.file.is_empty())
}

/// A flat file's name as `lms` names it: (student ID, LATE, the file's own name).
fn flat_name(lms: Lms, name: &str) -> Option<(String, bool, String)> {
    match lms {
        Lms::Canvas => parse_canvas(name).map(|c| (c.user, c.late, c.file)),
        Lms::Moodle => parse_moodle(name).filter(|m| !m.file.is_empty()).map(|m| (m.participant, false, m.file)),
    }
}

/// Which LMS's flat layout a file's name belongs to (Moodle's mark is the more telling).
fn flat_kind(name: &str) -> Option<Lms> {
    [Lms::Moodle, Lms::Canvas].into_iter().find(|&lms| flat_name(lms, name).is_some())
}

/// Whether a name has the marks of an LMS's names even if it cannot be read as one:
/// Moodle's `_assignsubmission_`, Canvas's `LATE` or a user and file ID side by side.
fn looks_like_lms(name: &str) -> bool {
    let tokens: Vec<&str> = name.split('_').collect();
    let digits = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.contains("_assignsubmission_") || tokens.contains(&"LATE") || tokens.windows(2).any(|w| digits(&w[0]) && digits(&w[1]))
}

/// Tells the layout from the names at the top: `folders` (with the links, where there are
/// folders) and `files`. An error is the batch's refusal: a layout holding names that are
/// not its own, or names that look like an LMS's but cannot be read.
fn layout(folders: &[&str], files: &[&str]) -> Result<Layout, String> {
    if !folders.is_empty() {
        // Loose files beside folders are skipped, as always.
        if !folders.iter().any(|f| f.contains("_assignsubmission_")) {
            return Ok(Layout::Folders);
        }
        let others: Vec<&str> = folders.iter().copied().filter(|f| moodle_folder(f).is_none()).collect();
        if others.is_empty() {
            return Ok(Layout::MoodleFolders);
        }
        return Err(format!(
            "{} of the folders {} named as Moodle names a participant's ({MOODLE_FOLDERS}), but {} {} not, so whose {} cannot be told; grade Moodle's download on its own, or rename {}; nothing was changed",
            folders.len() - others.len(),
            is_are(folders.len() - others.len()),
            listed(&others),
            is_are(others.len()),
            if others.len() == 1 { "it is" } else { "they are" },
            if others.len() == 1 { "it" } else { "them" },
        ));
    }
    let kinds: Vec<Option<Lms>> = files.iter().map(|f| flat_kind(f)).collect();
    let count = |lms: Lms| kinds.iter().filter(|k| **k == Some(lms)).count();
    let (canvas, moodle) = (count(Lms::Canvas), count(Lms::Moodle));
    if canvas == 0 && moodle == 0 {
        let odd: Vec<&str> = files.iter().copied().filter(|f| looks_like_lms(f)).collect();
        if odd.is_empty() {
            // Nothing of an LMS: no hand-in at all (the caller says so).
            return Ok(Layout::Folders);
        }
        return Err(format!(
            "{} {} named like an LMS's download, but whose {} cannot be told from the name (Canvas names files {CANVAS_NAMES}, Moodle {MOODLE_FILES}); rename {} to its student's folder; nothing was changed",
            listed(&odd),
            is_are(odd.len()),
            if odd.len() == 1 { "file it is" } else { "files they are" },
            if odd.len() == 1 { "it, or move it" } else { "them, or move each" },
        ));
    }
    let lms = if canvas >= moodle { Lms::Canvas } else { Lms::Moodle };
    let others: Vec<&str> = files.iter().zip(&kinds).filter(|(_, k)| **k != Some(lms)).map(|(f, _)| *f).collect();
    if others.is_empty() {
        return Ok(Layout::Flat(lms));
    }
    let pattern = if lms == Lms::Canvas { CANVAS_NAMES } else { MOODLE_FILES };
    Err(format!(
        "{} of the files {} named as in {lms}'s submission download ({pattern}), but {} {} not, so whose {} cannot be told; remove {} or grade {} apart; nothing was changed",
        files.len() - others.len(),
        is_are(files.len() - others.len()),
        listed(&others),
        is_are(others.len()),
        if others.len() == 1 { "it is" } else { "they are" },
        if others.len() == 1 { "it" } else { "them" },
        if others.len() == 1 { "it" } else { "them" },
    ))
}

/// The note that says which layout was read.
fn layout_note(layout: Layout, students: usize, entries: usize) -> Option<String> {
    let s = if students == 1 { "" } else { "s" };
    match layout {
        Layout::Folders => None,
        Layout::MoodleFolders => Some(format!("read as Moodle's download of all submissions in folders: {students} participant{s} from {entries} folders, each by participant ID")),
        Layout::Flat(Lms::Moodle) => Some(format!("read as Moodle's download of all submissions, flat: {students} participant{s} from {entries} files, each by participant ID")),
        Layout::Flat(Lms::Canvas) => Some(format!("read as Canvas's submission download: {students} student{s} from {entries} files, each by Canvas user ID, with Canvas's LATE marks")),
    }
}

/// The note for loose files beside folders that are named as in an LMS's flat download.
fn mixed_note(files: &[&str]) -> Option<String> {
    let named: Vec<&str> = files.iter().copied().filter(|f| flat_kind(f).is_some()).collect();
    (!named.is_empty()).then(|| {
        format!("{} file{} beside the folders {} named as in an LMS's submission download ({}); a download is read as one only on its own, without folders beside it", named.len(), if named.len() == 1 { "" } else { "s" }, is_are(named.len()), listed(&named))
    })
}

// ---------------------------------------------------------------------------------------
// Folders on disk.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Folder,
    File,
    Link,
}

/// An entry at the top of a submissions folder.
#[derive(Debug)]
struct Top {
    /// Its name (escaped when it is not UTF-8).
    name: String,
    utf8: bool,
    kind: Kind,
    path: PathBuf,
}

fn list_folder(path: &Path, limits: &ReadLimits) -> Result<(Vec<Pending>, Vec<String>), GradeError> {
    let err = |e: std::io::Error| GradeError::Submissions { path: path.to_owned(), message: e.to_string() };
    let mut top = Vec::new();
    for entry in std::fs::read_dir(path).map_err(err)? {
        let entry = entry.map_err(err)?;
        let name = entry.file_name();
        let file_type = entry.file_type().map_err(err)?;
        let (name, utf8) = match name.to_str() {
            Some(s) => (s.to_owned(), true),
            None => (format!("{name:?}").trim_matches('"').to_owned(), false),
        };
        if name.starts_with('.') {
            continue;
        }
        let kind = if file_type.is_symlink() {
            Kind::Link
        } else if file_type.is_dir() {
            Kind::Folder
        } else {
            Kind::File
        };
        top.push(Top { name, utf8, kind, path: entry.path() });
    }
    top.sort_by(|a, b| a.name.cmp(&b.name));
    // A link is never followed, so what it points to is not known: beside folders it
    // stands for a folder (and is refused as a hand-in), among files for a file.
    let has_folders = top.iter().any(|t| t.kind == Kind::Folder);
    let folder_like = |t: &Top| t.kind == Kind::Folder || (t.kind == Kind::Link && has_folders);
    let folders: Vec<&str> = top.iter().filter(|t| folder_like(t)).map(|t| t.name.as_str()).collect();
    let files: Vec<&str> = top.iter().filter(|t| !folder_like(t)).map(|t| t.name.as_str()).collect();
    let layout = layout(&folders, &files).map_err(|message| GradeError::Submissions { path: path.to_owned(), message })?;
    let mut pending = Vec::new();
    let mut notes = Vec::new();
    match layout {
        Layout::Folders => {
            notes.extend(mixed_note(&files));
            for t in top {
                let refused = |message: &str| {
                    let mut h = HandIn::new(t.name.clone());
                    h.error = Some(message.to_owned());
                    Pending { source: t.name.clone(), origin: None, unread: Unread::Read(h) }
                };
                if t.kind == Kind::Link {
                    pending.push(refused("the hand-in is a symbolic link; links are never followed"));
                } else if t.kind != Kind::Folder {
                    notes.push(format!("{}: not a folder, skipped", t.name));
                } else if !t.utf8 {
                    pending.push(refused("the folder's name is not valid UTF-8; rename it to the student's ID"));
                } else {
                    pending.push(Pending { source: t.name, origin: None, unread: Unread::Folder(t.path) });
                }
            }
        }
        Layout::MoodleFolders => {
            let mut participants: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
            let mut count = 0;
            for t in top {
                match moodle_folder(&t.name) {
                    Some(m) if folder_like(&t) => {
                        count += 1;
                        participants.entry(m.participant).or_default().push(t.path);
                    }
                    _ => notes.push(format!("{}: not a folder, skipped", t.name)),
                }
            }
            notes.extend(layout_note(layout, participants.len(), count));
            for (id, dirs) in participants {
                pending.push(Pending { source: id.clone(), origin: Some(Origin { lms: Lms::Moodle, student: id, late: None }), unread: Unread::Folders(dirs) });
            }
        }
        Layout::Flat(lms) => {
            let mut students: BTreeMap<String, (bool, Vec<Candidate<PathBuf>>)> = BTreeMap::new();
            for t in &top {
                // Every name was read when the layout was told.
                let Some((id, late, name)) = flat_name(lms, &t.name) else { continue };
                let student = students.entry(id).or_default();
                student.0 |= late;
                student.1.push(Candidate { name, entry: t.name.clone(), at: t.path.clone() });
            }
            notes.extend(layout_note(layout, students.len(), top.len()));
            let wanted = limits.names();
            for (id, (late, files)) in students {
                let (files, chosen_notes) = choose(&files, &wanted, lms == Lms::Canvas);
                let origin = Origin { lms, student: id.clone(), late: (lms == Lms::Canvas).then_some(late) };
                pending.push(Pending { source: id, origin: Some(origin), unread: Unread::Files { files, notes: chosen_notes } });
            }
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
        read_file(&name, &entry.path(), limits, h);
    }
}

/// Reads a Moodle participant's folders as one hand-in; a file that two of them hold is
/// read from neither.
fn read_folders(dirs: &[PathBuf], limits: &ReadLimits, h: &mut HandIn) {
    let mut found = Vec::new();
    for dir in dirs {
        let folder = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let entries = match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                h.problems.push(format!("folder `{}` is a symbolic link; links are never followed, so it was not read", shown(&folder)));
                continue;
            }
            _ => match std::fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(e) => {
                    h.problems.push(format!("folder `{}` could not be read: {e}", shown(&folder)));
                    continue;
                }
            },
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                h.problems.push(format!("a file name that is not valid UTF-8 ({:?}) was skipped", entry.file_name()));
                continue;
            };
            if is_wanted(&name, limits) {
                found.push(Candidate { entry: format!("{folder}/{name}"), name, at: entry.path() });
            }
        }
    }
    let (chosen, notes) = choose(&found, &limits.names(), false);
    h.problems.extend(notes);
    for (name, path) in chosen {
        read_file(&name, &path, limits, h);
    }
}

/// Reads one file that grading needs into the hand-in, as `name`, or says why not.
fn read_file(name: &str, path: &Path, limits: &ReadLimits, h: &mut HandIn) {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return };
    if meta.file_type().is_symlink() {
        h.problems.push(format!("{name} is a symbolic link; links are never followed, so it was not read"));
    } else if !meta.is_file() {
        h.problems.push(format!("{name} is not a regular file; not read"));
    } else if meta.len() > limits.max_file_bytes {
        h.problems.push(format!("{name} is {} bytes, over the limit of {}; not read", meta.len(), limits.max_file_bytes));
    } else {
        match std::fs::File::open(path).and_then(|f| read_capped(f, limits.max_file_bytes)) {
            Ok(Some(bytes)) => {
                h.files.insert(name.to_owned(), bytes);
            }
            Ok(None) => h.problems.push(format!("{name} grew over the limit of {} bytes while read; not read", limits.max_file_bytes)),
            Err(e) => h.problems.push(format!("{name} could not be read: {e}")),
        }
    }
}

/// Reads at most `max` bytes; `None` when there is more.
fn read_capped(r: impl Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    r.take(max + 1).read_to_end(&mut bytes)?;
    Ok(if bytes.len() as u64 > max { None } else { Some(bytes) })
}

// ---------------------------------------------------------------------------------------
// Zips.

/// One entry of a zip, seen from its top (`strip` taken off).
#[derive(Debug)]
struct ZipEntry<'a> {
    raw: &'a str,
    parts: Vec<&'a str>,
    /// `..`, an absolute path, a backslash or a drive letter.
    unsafe_path: bool,
}

impl<'a> ZipEntry<'a> {
    fn new(raw: &'a str, strip: &str) -> ZipEntry<'a> {
        let name = raw.strip_prefix(strip).unwrap_or(raw);
        let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
        let unsafe_path = raw.starts_with('/') || raw.contains('\\') || parts.iter().any(|p| *p == ".." || *p == ".") || raw.chars().nth(1) == Some(':');
        ZipEntry { raw, parts, unsafe_path }
    }

    /// An unsafe entry that lies in a folder: that folder's hand-in is refused for it.
    fn blames_folder(&self) -> bool {
        self.parts.len() >= 2 && !self.raw.starts_with('/') && self.parts[0] != ".."
    }
}

fn read_zip(path: &Path, limits: &ReadLimits) -> Result<(Vec<Pending>, Vec<String>), GradeError> {
    let err = |message: String| GradeError::Submissions { path: path.to_owned(), message };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| err(format!("not a readable zip: {e}")))?;
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| err(e.to_string()))?;
        names.push(entry.name().to_owned());
    }
    // An LMS may wrap every folder in one top folder: look through it. A flat download
    // zipped again inside its folder is looked through too.
    let mut strip = common_top(&names);
    if strip.is_empty()
        && let Some(top) = flat_top(&names)
    {
        let files: Vec<&str> = names.iter().filter_map(|n| n.strip_prefix(top.as_str())).filter(|f| !f.is_empty() && !f.starts_with('.')).collect();
        if matches!(layout(&[], &files), Ok(Layout::Flat(_))) {
            strip = top;
        }
    }
    let entries: Vec<ZipEntry> = names.iter().map(|raw| ZipEntry::new(raw, &strip)).collect();
    // The top as the entries make it: a folder has entries under it.
    let mut folders = BTreeSet::new();
    let mut files = BTreeSet::new();
    for e in &entries {
        let Some(first) = e.parts.first() else { continue };
        if (e.unsafe_path && !e.blames_folder()) || first.starts_with('.') || *first == "__MACOSX" {
            continue;
        }
        if e.parts.len() >= 2 || e.raw.ends_with('/') {
            folders.insert(*first);
        } else {
            files.insert(*first);
        }
    }
    let folders: Vec<&str> = folders.into_iter().collect();
    let files: Vec<&str> = files.into_iter().filter(|f| folders.binary_search(f).is_err()).collect();
    let layout = layout(&folders, &files).map_err(err)?;
    match layout {
        Layout::Folders => {
            let note = mixed_note(&files);
            let (handins, mut notes) = read_zip_folders(&mut archive, &entries, limits);
            notes.extend(note);
            Ok((handins.into_iter().map(|h| Pending { source: h.source.clone(), origin: None, unread: Unread::Read(h) }).collect(), notes))
        }
        Layout::MoodleFolders => Ok(read_zip_lms(&mut archive, &entries, layout, limits, folders.len())),
        Layout::Flat(_) => Ok(read_zip_lms(&mut archive, &entries, layout, limits, files.len())),
    }
}

/// Reads a zip of one folder per student.
fn read_zip_folders<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, entries: &[ZipEntry], limits: &ReadLimits) -> (Vec<HandIn>, Vec<String>) {
    let mut handins: BTreeMap<String, HandIn> = BTreeMap::new();
    let mut notes = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let (raw, parts) = (e.raw, &e.parts);
        let Some(first) = parts.first().map(|s| (*s).to_owned()) else { continue };
        if e.unsafe_path {
            if e.blames_folder() {
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
        read_zip_entry(archive, i, file_name, limits, h);
    }
    (handins.into_values().collect(), notes)
}

/// One student's part of a zip in an LMS's layout.
#[derive(Debug, Default)]
struct Gathered {
    late: bool,
    files: Vec<Candidate<usize>>,
    error: Option<String>,
}

/// Reads a zip in Moodle's or Canvas's layout, every name already known to be the
/// layout's own. `tops` counts the folders (or files) at the top, for the note.
fn read_zip_lms<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, entries: &[ZipEntry], layout: Layout, limits: &ReadLimits, tops: usize) -> (Vec<Pending>, Vec<String>) {
    let mut students: BTreeMap<String, Gathered> = BTreeMap::new();
    let mut notes = Vec::new();
    // Whose a top-level name is, with its LATE mark and the file's own name (flat).
    let whose = |first: &str| -> Option<(String, bool, String)> {
        match layout {
            Layout::MoodleFolders => moodle_folder(first).map(|m| (m.participant, false, String::new())),
            Layout::Flat(lms) => flat_name(lms, first),
            Layout::Folders => None,
        }
    };
    for (i, e) in entries.iter().enumerate() {
        let Some(&first) = e.parts.first() else { continue };
        if e.unsafe_path {
            match whose(first).filter(|_| e.blames_folder()) {
                Some((id, ..)) => {
                    students.entry(id).or_default().error = Some(format!("the zip entry `{}` leaves its folder (`..` or an absolute path); the hand-in was refused", shown(e.raw)));
                }
                None => notes.push(format!("zip entry `{}` has `..` or an absolute path: skipped", shown(e.raw))),
            }
            continue;
        }
        if first.starts_with('.') || first == "__MACOSX" {
            continue;
        }
        if layout == Layout::MoodleFolders && e.parts.len() == 1 && !e.raw.ends_with('/') {
            notes.push(format!("{}: not a folder, skipped", shown(first)));
            continue;
        }
        // Every name at the top was read when the layout was told.
        let Some((id, late, name)) = whose(first) else { continue };
        let student = students.entry(id).or_default();
        student.late |= late;
        match layout {
            Layout::MoodleFolders if e.parts.len() == 2 => student.files.push(Candidate { name: e.parts[1].to_owned(), entry: format!("{first}/{}", e.parts[1]), at: i }),
            Layout::Flat(_) => student.files.push(Candidate { name, entry: first.to_owned(), at: i }),
            _ => {}
        }
    }
    notes.extend(layout_note(layout, students.len(), tops));
    let wanted = limits.names();
    let mut pending = Vec::new();
    for (id, gathered) in students {
        let mut h = HandIn::new(id.clone());
        let lms = if let Layout::Flat(lms) = layout { lms } else { Lms::Moodle };
        if let Some(error) = gathered.error {
            h.error = Some(error);
        } else {
            let (chosen, chosen_notes) = choose(&gathered.files, &wanted, lms == Lms::Canvas);
            h.problems.extend(chosen_notes);
            for (name, at) in chosen {
                read_zip_entry(archive, at, &name, limits, &mut h);
            }
        }
        let origin = Origin { lms, student: id.clone(), late: (lms == Lms::Canvas).then_some(gathered.late) };
        pending.push(Pending { source: id, origin: Some(origin), unread: Unread::Read(h) });
    }
    (pending, notes)
}

/// Reads zip entry `i` into the hand-in as `file_name`, or says why not.
fn read_zip_entry<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, i: usize, file_name: &str, limits: &ReadLimits, h: &mut HandIn) {
    let mut entry = match archive.by_index(i) {
        Ok(entry) => entry,
        Err(e) => {
            // An entry this build cannot unpack (another compression, encryption)
            // is this hand-in's problem, not the batch's.
            h.problems.push(format!("{file_name} could not be unpacked: {e}"));
            return;
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

/// Entries that would leave the archive decide nothing about its top.
fn safe_names(names: &[String]) -> Vec<&String> {
    names.iter().filter(|n| !n.starts_with('/') && !n.split('/').any(|p| p == "..")).collect()
}

/// `top/` when every entry of the zip lies under that one folder and some lie two
/// folders deep (`top/s001/answers.toml`).
fn common_top(names: &[String]) -> String {
    let names = safe_names(names);
    let Some(first) = names.iter().find_map(|n| n.split('/').next().filter(|s| !s.is_empty())) else {
        return String::new();
    };
    let prefix = format!("{first}/");
    let all_under = names.iter().all(|n| n.starts_with(&prefix) || *n == first || n.starts_with("__MACOSX"));
    let deep = names.iter().any(|n| n.strip_prefix(&prefix).is_some_and(|rest| rest.trim_end_matches('/').contains('/')));
    if all_under && deep { prefix } else { String::new() }
}

/// `top/` when every entry of the zip is a file right under that one folder (or the
/// folder itself): a flat download zipped again with its folder.
fn flat_top(names: &[String]) -> Option<String> {
    let names: Vec<&String> = safe_names(names).into_iter().filter(|n| !n.starts_with("__MACOSX")).collect();
    let first = names.first()?.split('/').next().filter(|s| !s.is_empty())?;
    let prefix = format!("{first}/");
    let flat = names.iter().all(|n| **n == prefix || n.strip_prefix(&prefix).is_some_and(|rest| !rest.is_empty() && !rest.contains('/')));
    (flat && names.iter().any(|n| **n != prefix)).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(name: &str, late: bool, user: &str, file_id: Option<&str>, file: &str) -> Option<CanvasName> {
        Some(CanvasName { name: name.into(), late, user: user.into(), file_id: file_id.map(Into::into), file: file.into() })
    }

    #[test]
    fn canvas_names_give_the_user_id_the_late_mark_and_the_file_as_handed_in() {
        assert_eq!(parse_canvas("smithjane_12345_67890_attention.py"), canvas("smithjane", false, "12345", Some("67890"), "attention.py"));
        assert_eq!(parse_canvas("smithjane_LATE_12345_67890_answers.toml"), canvas("smithjane", true, "12345", Some("67890"), "answers.toml"));
        // The file's own name keeps its underscores; the name part may have some too.
        assert_eq!(parse_canvas("doejohn_23456_67900_my_answers_v2.toml"), canvas("doejohn", false, "23456", Some("67900"), "my_answers_v2.toml"));
        assert_eq!(parse_canvas("van_der_berg_anna_LATE_1_2_answers.toml"), canvas("van_der_berg_anna", true, "1", Some("2"), "answers.toml"));
        // Canvas keeps letters beyond ASCII (its names are `[[:word:]]`), and so do we.
        assert_eq!(parse_canvas("müllerjosé_7_8_answers.toml"), canvas("müllerjosé", false, "7", Some("8"), "answers.toml"));
        // A file name starting with digits is the file's: the first pair of numbers is the user and the file.
        assert_eq!(parse_canvas("leeann_34567_67910_2024_report.py"), canvas("leeann", false, "34567", Some("67910"), "2024_report.py"));
        // Text and URL entries have no file ID.
        assert_eq!(parse_canvas("leeann_34567_text.html"), canvas("leeann", false, "34567", None, "text.html"));
        assert_eq!(parse_canvas("leeann_LATE_34567_link.html"), canvas("leeann", true, "34567", None, "link.html"));
        // Anonymous grading: no name, the ID is `anon_…`.
        assert_eq!(parse_canvas("anon_aB3xY_67890_answers.toml"), canvas("", false, "anon_aB3xY", Some("67890"), "answers.toml"));
        assert_eq!(parse_canvas("LATE_anon_aB3xY_67890_answers.toml"), canvas("", true, "anon_aB3xY", Some("67890"), "answers.toml"));
        // Lenient: no name at all, or a name with spaces.
        assert_eq!(parse_canvas("12345_67890_answers.toml"), canvas("", false, "12345", Some("67890"), "answers.toml"));
        assert_eq!(parse_canvas("smith jane_12345_67890_answers.toml"), canvas("smith jane", false, "12345", Some("67890"), "answers.toml"));
        // `late` in a name is the student's: Canvas writes its mark in capitals.
        assert_eq!(parse_canvas("late_12345_67890_answers.toml"), canvas("late", false, "12345", Some("67890"), "answers.toml"));
    }

    #[test]
    fn names_that_are_not_canvas_names_are_not_read_as_ones() {
        for name in [
            "answers.toml",
            "smithjane_answers.toml",
            // One number: no user and file side by side.
            "smithjane_12345_answers.toml",
            "smithjane_LATE_x12_67890_answers.toml",
            // Nothing after the file ID.
            "smithjane_12345_67890",
            "smithjane_12345_67890_",
            "",
            "_",
            "__",
            // A user ID no student ID can be (over 128 characters).
            &format!("smithjane_{}_67890_answers.toml", "1".repeat(200)),
            // Digits other than ASCII's are not Canvas's.
            "smithjane_١٢٣_٤٥٦_answers.toml",
        ] {
            assert_eq!(parse_canvas(name), None, "{name:?}");
        }
        // Control characters and `..` may stand in the parts that are not the ID; they are
        // never used as paths, and the ID stays digits.
        let odd = parse_canvas("smith\u{7}jane_12_34_..").expect("read");
        assert_eq!((odd.user.as_str(), odd.file.as_str()), ("12", ".."));
        let long = format!("{}_12_34_answers.toml", "a".repeat(100_000));
        assert_eq!(parse_canvas(&long).map(|c| c.user), Some("12".into()));
    }

    #[test]
    fn moodle_names_give_the_participant_id() {
        let m = |name: &str, id: &str, plugin: &str, file: &str| Some(MoodleName { name: name.into(), participant: id.into(), plugin: plugin.into(), file: file.into() });
        assert_eq!(parse_moodle("Jane Smith_1234567_assignsubmission_file_"), m("Jane Smith", "1234567", "file", ""));
        assert_eq!(parse_moodle("Jane Smith_1234567_assignsubmission_onlinetext_"), m("Jane Smith", "1234567", "onlinetext", ""));
        // Moodle 4.1 and later leave out the last underscore of a folder.
        assert_eq!(parse_moodle("José Núñez_3456789_assignsubmission_file"), m("José Núñez", "3456789", "file", ""));
        // Flat: the file's name follows, underscores and all.
        assert_eq!(parse_moodle("Jane Smith_1234567_assignsubmission_file_my_answers.toml"), m("Jane Smith", "1234567", "file", "my_answers.toml"));
        assert_eq!(parse_moodle("Participant_42_assignsubmission_file_answers.toml"), m("Participant", "42", "file", "answers.toml"));
        // Lenient: a name with underscores (Moodle makes them spaces).
        assert_eq!(parse_moodle("jane_smith_1_assignsubmission_file_"), m("jane_smith", "1", "file", ""));
        for name in ["Jane Smith_assignsubmission_file_", "Jane Smith_x1_assignsubmission_file_", "_1_assignsubmission_file_", "Jane_1_assignsubmission__", "Jane_1_assignsubmission_", "Jane_1_assignsubmission_fi-le_", "s001", "Jane_1_assignfeedback_file_"] {
            assert_eq!(parse_moodle(name), None, "{name:?}");
        }
    }

    #[test]
    fn canvas_resubmission_numbers_are_read_as_canvas_writes_them() {
        assert_eq!(resubmission_number("answers.toml", "answers.toml"), Some(0));
        assert_eq!(resubmission_number("answers-1.toml", "answers.toml"), Some(1));
        assert_eq!(resubmission_number("attention-12.py", "attention.py"), Some(12));
        // Canvas's extension is every `.word` at the end: `model.tar.gz` → `model-1.tar.gz`.
        assert_eq!(resubmission_number("model-1.tar.gz", "model.tar.gz"), Some(1));
        assert_eq!(resubmission_number("model.tar-1.gz", "model.tar.gz"), None);
        // …but a part starting with a digit is not one: `v1.2.py` → `v1.2-1.py`.
        assert_eq!(resubmission_number("v1.2-1.py", "v1.2.py"), Some(1));
        assert_eq!(resubmission_number("Makefile-2", "Makefile"), Some(2));
        for other in ["answers-0.toml", "answers-01.toml", "answers-.toml", "answers-x.toml", "answers_1.toml", "answers-1.tom", "answers.toml-1", "answers-1-2.toml", "answers-1234567890.toml"] {
            assert_eq!(resubmission_number(other, "answers.toml"), None, "{other}");
        }
    }

    fn candidates(names: &[&str]) -> Vec<Candidate<usize>> {
        names.iter().enumerate().map(|(i, n)| Candidate { name: (*n).to_owned(), entry: format!("{i}_{n}"), at: i }).collect()
    }

    #[test]
    fn the_highest_resubmission_of_each_wanted_file_is_chosen_unless_that_is_unclear() {
        let wanted: BTreeSet<&str> = ["answers.toml", "attention.py"].into();
        let (chosen, notes) = choose(&candidates(&["answers-1.toml", "attention.py", "notes.txt"]), &wanted, true);
        assert_eq!(chosen, [("answers.toml".to_owned(), 0), ("attention.py".to_owned(), 1)]);
        assert!(notes.is_empty(), "{notes:?}");
        let (chosen, notes) = choose(&candidates(&["answers-2.toml", "answers.toml", "answers-1.toml"]), &wanted, true);
        assert_eq!(chosen, [("answers.toml".to_owned(), 0)]);
        assert_eq!(notes, ["answers.toml was handed in 3 times (`answers.toml`, `answers-1.toml`, `answers-2.toml`); the last, `answers-2.toml`, was graded"]);
        // The same name and number twice: neither.
        let (chosen, notes) = choose(&candidates(&["attention-1.py", "attention-1.py", "answers.toml"]), &wanted, true);
        assert_eq!(chosen, [("answers.toml".to_owned(), 2)]);
        assert_eq!(notes, ["attention.py was handed in 2 times under the same name (`0_attention-1.py`, `1_attention-1.py`); which one counts is not clear, so none was read"]);
        // Without resubmissions (Moodle), a numbered name is just another file.
        let (chosen, _) = choose(&candidates(&["answers-1.toml"]), &wanted, false);
        assert!(chosen.is_empty());
        // A wanted name is never another's resubmission.
        let wanted: BTreeSet<&str> = ["step.py", "step-1.py"].into();
        let (chosen, notes) = choose(&candidates(&["step-1.py", "step.py"]), &wanted, true);
        assert_eq!(chosen, [("step-1.py".to_owned(), 0), ("step.py".to_owned(), 1)]);
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn the_layout_is_told_strictly_from_the_names_at_the_top() {
        // Plain folders stay plain, loose files beside them and all.
        assert_eq!(layout(&["s001", "s002"], &["README.txt", "smithjane_1_2_answers.toml"]), Ok(Layout::Folders));
        assert_eq!(layout(&[], &[]), Ok(Layout::Folders));
        // Nothing of an LMS in a flat folder: no hand-ins (the caller's refusal).
        assert_eq!(layout(&[], &["README.txt", "hw_1.py"]), Ok(Layout::Folders));
        assert_eq!(layout(&["Jane Smith_1_assignsubmission_file_", "Jane Smith_1_assignsubmission_onlinetext_", "John Doe_2_assignsubmission_file"], &["README.txt"]), Ok(Layout::MoodleFolders));
        assert_eq!(layout(&[], &["smithjane_1_2_answers.toml", "doejohn_LATE_3_4_answers-1.toml"]), Ok(Layout::Flat(Lms::Canvas)));
        assert_eq!(layout(&[], &["Jane Smith_1_assignsubmission_file_answers.toml"]), Ok(Layout::Flat(Lms::Moodle)));
        // Mixed: refused, naming what does not fit.
        let mixed = layout(&["Jane Smith_1_assignsubmission_file_", "s001"], &[]).expect_err("mixed folders");
        assert!(mixed.contains("1 of the folders is named as Moodle names a participant's") && mixed.contains("but `s001` is not"), "{mixed}");
        let mixed = layout(&[], &["smithjane_1_2_answers.toml", "doejohn_3_4_answers.toml", "README.txt"]).expect_err("mixed files");
        assert!(mixed.contains("2 of the files are named as in Canvas's submission download") && mixed.contains("but `README.txt` is not"), "{mixed}");
        let both = layout(&[], &["smithjane_1_2_answers.toml", "Jo_1_assignsubmission_file_a.toml"]).expect_err("both LMSs");
        assert!(both.contains("but `Jo_1_assignsubmission_file_a.toml` is not"), "{both}");
        // Looks like an LMS's name, cannot be read: named.
        let odd = layout(&[], &["smithjane_LATE_x_67890_answers.toml"]).expect_err("unreadable");
        assert!(odd.contains("`smithjane_LATE_x_67890_answers.toml` is named like an LMS's download, but whose file it is cannot be told"), "{odd}");
        // Hostile names are shown as text, cut short.
        let hostile = format!("a\u{1b}[31m_LATE_{}_1_answers.toml", "9".repeat(300));
        let shown = layout(&[], &[&hostile]).expect_err("unreadable");
        assert!(shown.contains("`a\u{fffd}[31m_LATE_999") && shown.contains('…') && !shown.contains('\u{1b}'), "{shown}");
    }
}

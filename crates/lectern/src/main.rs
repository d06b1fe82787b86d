//! `lectern`: the command line. The only place that wires the crates together, turns
//! diagnostics into pretty output and outcomes into exit codes.
//!
//! Exit codes: 0 success, 1 the input is wrong (diagnostics say where), 2 usage error.

mod build;
mod check;
mod code_runner;
mod grade;
mod new;
mod report;
mod serve;
mod similarity;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "lectern", version, about = "Write lessons in Markdown, publish an offline course site, check and grade student work.")]
#[command(propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a course: every lesson, quiz, challenge and exercise, printing every
    /// diagnostic (not only the first). Exits 1 if there is any error.
    Check {
        /// The course folder (the one holding course.toml).
        course: PathBuf,
        /// Treat warnings as errors (exit 1 when there is any).
        #[arg(short = 'D', long)]
        deny_warnings: bool,
    },
    /// Build the course's static site: a course index and one page per lesson, offline,
    /// with math rendered at build time. Writes into a temporary folder and swaps it in.
    Build {
        /// The course folder (the one holding course.toml).
        course: PathBuf,
        /// Where to write the site; an existing folder must be a previous Lectern build.
        #[arg(long, short)]
        out: PathBuf,
        /// `practice` checks answers in the page; `exam` publishes no answer key at all.
        /// Default: the course's `mode`.
        #[arg(long, value_enum)]
        mode: Option<build::ModeArg>,
        /// Do not run the `run` code blocks (their terminals then show no output).
        #[arg(long)]
        no_run: bool,
    },
    /// Serve the course's site on 127.0.0.1, rebuilding what changed and reloading open
    /// pages; a build error shows in the page and here while the last good site stays up.
    Serve {
        /// The course folder (the one holding course.toml).
        course: PathBuf,
        /// The port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Serve where no sandbox can be had, with the Run button switched off (posted code
        /// never runs without isolation).
        #[arg(long)]
        no_sandbox: bool,
    },
    /// Resolve the course's `[runner] requirements` into requirements.lock (exact versions,
    /// and every file's hash where `uv` is installed), from which every Python environment
    /// that runs student code is then made. Needs the package index; commit the file.
    Lock {
        /// The course folder (the one holding course.toml).
        course: PathBuf,
    },
    /// Check your code for an exercise on its visible cases, in the sandbox, against the
    /// reference implementation. Exits 0 when every case passes, 1 otherwise.
    Test {
        /// The course folder.
        course: PathBuf,
        /// The exercise's ID (its folder name under exercises/).
        exercise: String,
        /// Your Python file.
        file: PathBuf,
        /// Print Gradescope-style results (score, max_score, tests[]) as JSON.
        #[arg(long)]
        json: bool,
        /// Run the code without isolation. Where no sandbox can be had (no Bubblewrap, user
        /// namespaces switched off, macOS) it runs without one anyway and says so once.
        #[arg(long)]
        no_sandbox: bool,
        /// Where the reference runs: cpu, cuda, or auto (CUDA when this binary was built
        /// with it and a GPU answers, else the CPU; it says which).
        #[arg(long, default_value = "auto")]
        device: String,
        /// CPU seconds for each case and check (counted for every process it starts, so
        /// other work on the machine cannot spend them); wall-clock time is capped at 3×
        /// this. The first case that runs out gets `timeout`, and the cases after it are not
        /// run (`not-run`): code that never ends costs this once per hand-in.
        #[arg(long, default_value_t = 20)]
        time_limit: u64,
    },
    /// Grade every hand-in of a class: quizzes and challenge steps from the course's key,
    /// exercises in the sandbox on all their cases. Writes gradebook.sqlite (resumable:
    /// a rerun grades only hand-ins whose content or key changed), gradebook.csv,
    /// students/<id>/results.json and report.html into --out.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Grade {
        /// The course folder.
        #[arg(required = true)]
        course: Option<PathBuf>,
        /// A folder with one folder per student, a .zip of such folders, or an LMS download as it comes: Canvas's flat "Download Submissions" zip or Moodle's "Download all submissions" (folders or flat).
        #[arg(required = true)]
        submissions: Option<PathBuf>,
        /// Where the gradebook and its exports go (overrides.toml there is read too).
        #[arg(long, short, required = true)]
        out: Option<PathBuf>,
        /// Hand-ins graded at once (default: the number of cores).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Where the reference implementations run: cpu, cuda, or auto (CUDA when this
        /// binary was built with it and a GPU answers, else the CPU; it says which).
        #[arg(long, default_value = "auto")]
        device: String,
        /// Grade only part K of N of the hand-ins (e.g. 3/8), writing only
        /// gradebook.sqlite; combine the parts with `lectern grade merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// A secret from which hidden cases draw their inputs (or LECTERN_SECRET), so
        /// that students cannot know them in advance.
        #[arg(long, env = "LECTERN_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Run student code without isolation (only where no sandbox can be had).
        #[arg(long)]
        no_sandbox: bool,
        /// CPU seconds for each case and check (counted for every process it starts, so
        /// other work on the machine cannot spend them); wall-clock time is capped at 3×
        /// this. The first case that runs out gets `timeout`, and the cases after it are not
        /// run (`not-run`): code that never ends costs this once per hand-in.
        #[arg(long, default_value_t = 20)]
        time_limit: u64,
        /// The largest file read from a hand-in, in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        max_file_size: u64,
        /// Drop hand-ins that the gradebook in --out holds but the submissions no longer
        /// do (without it, such a run changes nothing and fails).
        #[arg(long)]
        prune: bool,
        /// The share of their fingerprints (code) or character shingles (text) two
        /// hand-ins must have in common, from 0 to 1, for similarity.html to list the pair
        /// (for the instructor's review; students never see it). With --shard there is
        /// no review: `lectern grade merge` makes it, with its own threshold.
        #[arg(long, default_value_t = lectern_grade::similarity::DEFAULT_THRESHOLD, value_parser = fraction)]
        similarity_threshold: f64,
        #[command(subcommand)]
        merge: Option<GradeCommand>,
    },
    /// Create a new course skeleton that passes `lectern check` and shows each feature once.
    New {
        /// The folder to create; it must not exist or be empty.
        dir: PathBuf,
        /// The course code shown as its badge (default: the folder name in capitals).
        #[arg(long)]
        code: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum GradeCommand {
    /// Combine the outputs of `lectern grade --shard K/N` runs into exactly what one run
    /// over every hand-in writes.
    Merge {
        /// Where the combined gradebook and exports go.
        #[arg(long, short)]
        out: PathBuf,
        /// The shards' output folders.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// As for `lectern grade`: the share two hand-ins must have in common for
        /// similarity.html to list the pair.
        #[arg(long, default_value_t = lectern_grade::similarity::DEFAULT_THRESHOLD, value_parser = fraction)]
        similarity_threshold: f64,
    },
}

/// `lectern lock`: writes the course's lock file (through a temporary file, so that a
/// failed resolution leaves the old one).
fn lock(course: &std::path::Path) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let Some(loaded) = check::load_and_report(course, false)? else {
        return Ok(ExitCode::from(1));
    };
    let requirements = &loaded.course.config.runner.requirements;
    let text = lectern_runner::python::lock(requirements, &mut |m| eprintln!("{m}"))?;
    let path = course.join(lectern_lesson::model::LOCK_FILE);
    let mut file = tempfile::NamedTempFile::new_in(course).with_context(|| format!("writing into {}", course.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    file.persist(&path).with_context(|| format!("writing {}", path.display()))?;
    let pins: std::collections::BTreeSet<&str> =
        text.lines().filter(|l| !l.starts_with('#') && !l.trim_start().starts_with("--")).filter_map(|l| l.split_once("==").map(|(name, _)| name.trim())).collect();
    println!("wrote {} ({} package{} pinned: {})", path.display(), pins.len(), if pins.len() == 1 { "" } else { "s" }, pins.into_iter().collect::<Vec<_>>().join(", "));
    Ok(ExitCode::SUCCESS)
}

/// A number from 0 to 1 (`--similarity-threshold`).
fn fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        // `-0` is 0.
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x + 0.0),
        Ok(_) => Err("expected a number from 0 to 1, such as 0.3".into()),
        Err(_) => Err(format!("`{s}` is not a number; expected one from 0 to 1, such as 0.3")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { course, deny_warnings } => check::run(&course, deny_warnings),
        Command::Grade { merge: Some(GradeCommand::Merge { out, shards, similarity_threshold }), .. } => grade::merge(&out, &shards, similarity_threshold),
        Command::Grade { course, submissions, out, jobs, device, shard, secret, no_sandbox, time_limit, max_file_size, prune, similarity_threshold, merge: None } => {
            let (Some(course), Some(submissions), Some(out)) = (course, submissions, out) else {
                unreachable!("clap requires the course, the hand-ins and --out")
            };
            grade::run(grade::GradeArgs {
                course: &course,
                submissions: &submissions,
                out: &out,
                jobs,
                device: &device,
                shard: shard.as_deref(),
                secret: secret.as_deref(),
                no_sandbox,
                time_limit,
                max_file_size,
                prune,
                similarity_threshold,
            })
        }
        Command::New { dir, code } => new::run(&dir, code.as_deref()),
        Command::Lock { course } => lock(&course),
        Command::Build { course, out, mode, no_run } => build::run(&course, &out, mode, no_run),
        Command::Serve { course, port, no_sandbox } => serve::run(&course, port, no_sandbox),
        Command::Test { course, exercise, file, json, no_sandbox, device, time_limit } => test::run(test::TestArgs {
            time_limit,
            course: &course,
            exercise: &exercise,
            file: &file,
            json,
            no_sandbox,
            device: &device,
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}: {e:#}", report::paint("error", report::Style::Error));
            ExitCode::from(1)
        }
    }
}

//! A run the sandbox never started (Bubblewrap or the interpreter failed before any of
//! the program's code ran) is the runner's error, never a student's verdict: the harness
//! tries once more, then fails, so that nothing is scored or cached. Here the
//! "interpreter" is `/bin/sh` printing what a failed Bubblewrap prints; no Python needed.

use std::path::PathBuf;

use candle_core::Device;
use lectern_runner::harness::{self, Cases, RunOptions};
use lectern_runner::python::PythonEnv;
use lectern_runner::sandbox::{Isolation, Limits, Sandbox};
use lectern_runner::RunnerError;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_run_that_never_started_is_the_runners_error_not_a_verdict() {
    let venv = tempfile::tempdir().expect("venv");
    std::fs::create_dir_all(venv.path().join("bin")).expect("bin");
    let fake = venv.path().join("bin/python");
    std::fs::write(&fake, "#!/bin/sh\necho 'bwrap: Creating new namespace failed: Resource temporarily unavailable' >&2\nexit 1\n").expect("fake");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let python = PythonEnv { venv: venv.path().to_path_buf(), base_prefix: PathBuf::from("/usr"), info: Default::default() };
    // Built by hand: `Sandbox::new` would refuse this interpreter at once.
    let sandbox = Sandbox { python, limits: Limits::default(), isolation: Isolation::None };

    let scratch = sandbox.scratch(&std::env::temp_dir()).expect("scratch");
    let run = sandbox.run_python(scratch.path(), &["main.py"]).expect("spawned");
    assert!(!run.started, "{run:?}");

    let loaded = lectern_lesson::load_course(&root().join("courses/ai012"));
    let exercise = &loaded.course.exercises["attention"];
    let solution = root().join("courses/ai012/exercises/attention/solution.py");
    let options = RunOptions { cases: Cases::Visible, secret: None };
    match harness::test_exercise_with(exercise, &solution, &sandbox, &Device::Cpu, &options) {
        Err(RunnerError::NotStarted { stderr, .. }) => assert!(stderr.contains("Creating new namespace failed"), "{stderr}"),
        other => panic!("expected the runner's error, got {other:?}"),
    }
    assert!(matches!(Sandbox::new(sandbox.python.clone(), Limits::default(), Isolation::None), Err(RunnerError::Python { .. })));
}

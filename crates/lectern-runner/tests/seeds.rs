//! Secret seeds at grading time: a secret changes the inputs of hidden cases and of
//! behaviour checks, never those of visible cases, and the reference and the student's
//! function still receive the same inputs.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use lectern_lesson::model::Property;
use lectern_runner::harness::{self, Cases, RunOptions};
use lectern_runner::sandbox::{Isolation, Limits, Sandbox};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn same(a: &std::collections::BTreeMap<String, Tensor>, b: &std::collections::BTreeMap<String, Tensor>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(name, t)| {
            let u = &b[name];
            let flat = |t: &Tensor| t.to_dtype(candle_core::DType::F64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f64>()).expect("values");
            t.dims() == u.dims() && flat(t) == flat(u)
        })
}

#[test]
fn a_secret_changes_hidden_inputs_and_never_visible_ones() {
    let loaded = lectern_lesson::load_course(&root().join("courses/ai012"));
    let exercise = &loaded.course.exercises["attention"];
    let (mut visible, mut hidden) = (0, 0);
    for case in &exercise.cases {
        let plain = harness::case_inputs(exercise, case, None).expect("inputs");
        let again = harness::case_inputs(exercise, case, None).expect("inputs");
        let one = harness::case_inputs(exercise, case, Some(1)).expect("inputs");
        let two = harness::case_inputs(exercise, case, Some(2)).expect("inputs");
        assert!(same(&plain, &again), "{}: not reproducible", case.name);
        assert!(same(&one, &harness::case_inputs(exercise, case, Some(1)).expect("inputs")), "{}", case.name);
        if case.visible {
            assert!(same(&plain, &one) && same(&plain, &two), "{}: a secret changed a visible case", case.name);
            visible += 1;
        } else {
            assert!(!same(&plain, &one) && !same(&one, &two), "{}: the secret changed nothing", case.name);
            hidden += 1;
        }
    }
    assert!(visible > 0 && hidden > 0);
    let p = Property::NoFutureLeak;
    assert_ne!(harness::check_seed(exercise, p, None), harness::check_seed(exercise, p, Some(1)));
    assert_ne!(harness::check_seed(exercise, p, Some(1)), harness::check_seed(exercise, p, Some(2)));
    assert_eq!(harness::check_seed(exercise, p, Some(1)), harness::check_seed(exercise, p, Some(1)));
}

/// Through the real sandbox: with a secret, the solution still matches the reference on
/// every hidden case and check (so both saw the same inputs), and a "student" that prints
/// a digest of what it received shows the inputs the harness says it drew.
#[test]
fn with_a_secret_the_reference_and_the_student_see_the_same_inputs() {
    if lectern_runner::sandbox::probe().is_err() {
        eprintln!("skipped: no bubblewrap");
        return;
    }
    let loaded = lectern_lesson::load_course(&root().join("courses/ai012"));
    let exercise = &loaded.course.exercises["attention"];
    let cache = lectern_runner::python::cache_dir();
    let python = lectern_runner::python::provision(&loaded.course.config.runner, &cache, &mut |m| eprintln!("{m}")).expect("python");
    let sandbox = Sandbox::new(python, Limits::default(), Isolation::Bubblewrap).expect("sandbox");
    let scratch = std::env::temp_dir().join(format!("lectern-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch");
    let solution = root().join("courses/ai012/exercises/attention/solution.py");
    for secret in [None, Some(0x5eed), Some(42)] {
        let options = RunOptions { cases: Cases::All, secret };
        let results = harness::test_exercise_with(exercise, &solution, &sandbox, &Device::Cpu, &options).expect("runs");
        assert_eq!(results.len(), exercise.cases.len() + exercise.checks.len());
        assert!(results.iter().all(|r| r.verdict.passed()), "{secret:?}: {results:#?}");
    }

    // A student that prints the sum of q for every call: visible cases show their output.
    let echo = scratch.join("echo.py");
    std::fs::write(
        &echo,
        "import numpy as np\n\ndef scaled_dot_product_attention(q, k, v, mask=None, causal=False):\n    print('sum(q) = %.6f' % float(np.asarray(q, dtype=np.float64).sum()))\n    return np.zeros(q.shape[:-1] + v.shape[-1:], dtype=q.dtype)\n",
    )
    .expect("echo");
    let options = RunOptions { cases: Cases::Visible, secret: Some(99) };
    let results = harness::test_exercise_with(exercise, &echo, &sandbox, &Device::Cpu, &options).expect("runs");
    for case in exercise.cases.iter().filter(|c| c.visible) {
        let q = &harness::case_inputs(exercise, case, Some(99)).expect("inputs")["q"];
        let sum: f64 = q.to_dtype(candle_core::DType::F64).and_then(|t| t.sum_all()).and_then(|t| t.to_scalar()).expect("sum");
        let result = results.iter().find(|r| r.name == case.name).expect("result");
        let printed: f64 = result.output.trim().trim_start_matches("sum(q) = ").parse().expect("printed sum");
        assert!((printed - sum).abs() <= 1e-3 * sum.abs().max(1.0), "{}: student saw {printed}, harness drew {sum}", case.name);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

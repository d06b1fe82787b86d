//! The registry: names, running by named inputs and keyword arguments, typed errors.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use lectern_lesson::model::ArgValue;
use lectern_runner::RunnerError;
use lectern_runner::reference::{InputKind, Judgement, by_name, check_mlm, names};

use crate::naive::{self, Weights};
use crate::{Rng, assert_close, tensor, values_of};

fn inputs(pairs: &[(&str, &Tensor)]) -> BTreeMap<String, Tensor> {
    pairs
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).clone()))
        .collect()
}

fn args(pairs: &[(&str, ArgValue)]) -> BTreeMap<String, ArgValue> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.clone()))
        .collect()
}

#[test]
fn every_name_in_the_course_is_registered() {
    let want = [
        "attention",
        "causal-attention",
        "bidirectional-attention",
        "cross-attention",
        "kv-cache",
        "kv-cache-memory",
        "mlm-masking",
        "layer-norm",
        "gelu",
        "feed-forward",
    ];
    assert_eq!(names(), want);
    for name in want {
        let r = by_name(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(r.name, name);
    }
    assert!(by_name("Attention").is_none());
    let mlm = by_name("mlm-masking").expect("mlm");
    assert_eq!(mlm.judged_by, Judgement::MlmProperties);
    assert_eq!(mlm.inputs[0].kind, InputKind::TokenIds);
}

#[test]
fn attention_with_causal_true_builds_the_causal_mask() {
    let mut rng = Rng::new(40);
    let (batch, l, d) = (2, 5, 8);
    let (q, k, v) = (
        rng.values(batch * l * d, 1.0),
        rng.values(batch * l * d, 1.0),
        rng.values(batch * l * d, 1.0),
    );
    let t = |x: &[f64]| tensor(x, &[batch, l, d]);
    let (qt, kt, vt) = (t(&q), t(&k), t(&v));
    let attention = by_name("attention").expect("attention");
    let run = |a: &[(&str, ArgValue)], extra: &[(&str, &Tensor)]| {
        let mut i = inputs(&[("q", &qt), ("k", &kt), ("v", &vt)]);
        i.extend(inputs(extra));
        attention.run(&i, &args(a), &Device::Cpu)
    };
    let causal_keep: Vec<bool> = (0..batch * l * l).map(|i| (i % l) <= (i / l) % l).collect();

    let out = run(&[("causal", ArgValue::Bool(true))], &[]).expect("causal");
    let want = naive::attention(&q, &k, &v, Some(&causal_keep), batch, l, l, d, d);
    assert_close(
        "registry attention causal=true",
        &out["out"],
        &want,
        &[batch, l, d],
    );

    let out = run(&[], &[]).expect("plain");
    let want = naive::attention(&q, &k, &v, None, batch, l, l, d, d);
    assert_close("registry attention", &out["out"], &want, &[batch, l, d]);

    // causal combined with a padding-style key mask: both must hold.
    let keys: Vec<bool> = (0..batch * l).map(|i| i % l != 1).collect();
    let key_mask = crate::mask(&keys, &[batch, 1, l]);
    let both: Vec<bool> = (0..batch * l * l)
        .map(|i| causal_keep[i] && keys[(i / (l * l)) * l + i % l])
        .collect();
    let out =
        run(&[("causal", ArgValue::Bool(true))], &[("mask", &key_mask)]).expect("causal + mask");
    let want = naive::attention(&q, &k, &v, Some(&both), batch, l, l, d, d);
    assert_close(
        "registry attention causal=true + mask",
        &out["out"],
        &want,
        &[batch, l, d],
    );
}

#[test]
fn causal_attention_by_name_matches_naive() {
    let mut rng = Rng::new(41);
    let (batch, l, dm, h) = (2, 4, 8, 2);
    let x = rng.values(batch * l * dm, 1.0);
    let w = Weights {
        w_q: rng.values(dm * dm, 0.35),
        w_k: rng.values(dm * dm, 0.35),
        w_v: rng.values(dm * dm, 0.35),
        w_o: rng.values(dm * dm, 0.35),
    };
    let wt = [&w.w_q, &w.w_k, &w.w_v, &w.w_o].map(|m| tensor(m, &[dm, dm]));
    let xt = tensor(&x, &[batch, l, dm]);
    let named = inputs(&[
        ("x", &xt),
        ("w_q", &wt[0]),
        ("w_k", &wt[1]),
        ("w_v", &wt[2]),
        ("w_o", &wt[3]),
    ]);
    let out = by_name("causal-attention")
        .expect("registered")
        .run(
            &named,
            &args(&[("n_heads", ArgValue::Int(h as i64))]),
            &Device::Cpu,
        )
        .expect("run");
    let want = naive::multi_head(&x, &x, &w, batch, l, l, dm, h, |_, i, j| j <= i);
    assert_close(
        "registry causal-attention",
        &out["out"],
        &want,
        &[batch, l, dm],
    );

    // kv-cache by name on an empty cache gives the first causal row.
    let dh = dm / h;
    let empty = tensor(&[], &[batch, h, 0, dh]);
    let x0 = xt.narrow(1, 0, 1).expect("narrow");
    let step = by_name("kv-cache")
        .expect("registered")
        .run(
            &inputs(&[
                ("x_t", &x0),
                ("cache_k", &empty),
                ("cache_v", &empty),
                ("w_q", &wt[0]),
                ("w_k", &wt[1]),
                ("w_v", &wt[2]),
                ("w_o", &wt[3]),
            ]),
            &args(&[("n_heads", ArgValue::Int(h as i64))]),
            &Device::Cpu,
        )
        .expect("step");
    assert_eq!(
        step.keys().collect::<Vec<_>>(),
        ["cache_k", "cache_v", "y_t"]
    );
    let first: Vec<f64> = (0..batch)
        .flat_map(|b| want[b * l * dm..b * l * dm + dm].to_vec())
        .collect();
    assert_close(
        "registry kv-cache, first token",
        &step["y_t"],
        &first,
        &[batch, 1, dm],
    );
}

#[test]
fn the_small_references_run_by_name() {
    let mut rng = Rng::new(42);
    let x = rng.values(12, 2.0);
    let out = by_name("gelu")
        .expect("gelu")
        .run(
            &inputs(&[("x", &tensor(&x, &[3, 4]))]),
            &BTreeMap::new(),
            &Device::Cpu,
        )
        .expect("gelu");
    let want: Vec<f64> = x.iter().map(|&v| naive::gelu(v)).collect();
    assert_close("registry gelu", &out["out"], &want, &[3, 4]);

    let (gamma, beta) = (rng.values(4, 1.0), rng.values(4, 1.0));
    let out = by_name("layer-norm")
        .expect("layer-norm")
        .run(
            &inputs(&[
                ("x", &tensor(&x, &[3, 4])),
                ("gamma", &tensor(&gamma, &[4])),
                ("beta", &tensor(&beta, &[4])),
            ]),
            &args(&[("eps", ArgValue::Float(1e-3))]),
            &Device::Cpu,
        )
        .expect("layer norm");
    assert_close(
        "registry layer-norm eps=1e-3",
        &out["out"],
        &naive::layer_norm(&x, 4, &gamma, &beta, 1e-3),
        &[3, 4],
    );

    let memory = by_name("kv-cache-memory").expect("kv-cache-memory");
    let config = [
        ("n_layers", 32),
        ("n_kv_heads", 8),
        ("head_dim", 128),
        ("seq_len", 1),
        ("batch", 1),
        ("bytes_per_value", 2),
    ]
    .map(|(n, v)| (n, ArgValue::Int(v)));
    let out = memory
        .run(&BTreeMap::new(), &args(&config), &Device::Cpu)
        .expect("memory");
    assert_eq!(out["bytes"].to_scalar::<i64>().expect("scalar"), 128 * 1024);

    let toks: Vec<i64> = (0..2048).map(|i| (i * 7919) % 500).collect();
    let tok_t = Tensor::from_vec(toks.clone(), (4, 512), &Device::Cpu).expect("tokens");
    let mlm_args = args(&[
        ("mask_id", ArgValue::Int(500)),
        ("vocab_size", ArgValue::Int(501)),
        ("seed", ArgValue::Int(3)),
    ]);
    let out = by_name("mlm-masking")
        .expect("mlm")
        .run(&inputs(&[("tokens", &tok_t)]), &mlm_args, &Device::Cpu)
        .expect("mlm");
    assert_eq!(out["inputs"].dims(), [4, 512]);
    let flat = |t: &Tensor| {
        t.flatten_all()
            .and_then(|t| t.to_vec1::<i64>())
            .expect("i64")
    };
    check_mlm(
        &toks,
        &flat(&out["inputs"]),
        &flat(&out["labels"]),
        500,
        501,
        0.15,
    )
    .expect("judged correct");
}

#[test]
fn mistakes_in_an_exercise_are_typed_errors() {
    let mut rng = Rng::new(43);
    let x = tensor(&rng.values(2 * 3 * 6, 1.0), &[2, 3, 6]);
    let w = tensor(&rng.values(36, 0.4), &[6, 6]);
    let causal = by_name("causal-attention").expect("registered");
    let all = inputs(&[
        ("x", &x),
        ("w_q", &w),
        ("w_k", &w),
        ("w_v", &w),
        ("w_o", &w),
    ]);
    let heads = |n: i64| args(&[("n_heads", ArgValue::Int(n))]);

    let err = causal
        .run(&all, &heads(4), &Device::Cpu)
        .expect_err("6 % 4 != 0");
    assert!(
        matches!(
            err,
            RunnerError::HeadsDoNotDivide {
                op: "causal-attention",
                model_dim: 6,
                n_heads: 4
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not divisible"), "{err}");

    let err = causal
        .run(&all, &args(&[("n_head", ArgValue::Int(2))]), &Device::Cpu)
        .expect_err("typo");
    assert!(
        matches!(&err, RunnerError::BadArgument { arg, .. } if arg == "n_head"),
        "{err:?}"
    );

    let err = causal
        .run(&all, &BTreeMap::new(), &Device::Cpu)
        .expect_err("missing n_heads");
    assert!(
        matches!(&err, RunnerError::BadArgument { arg, .. } if arg == "n_heads"),
        "{err:?}"
    );

    let err = causal
        .run(
            &all,
            &args(&[("n_heads", ArgValue::Bool(true))]),
            &Device::Cpu,
        )
        .expect_err("bool");
    assert!(matches!(&err, RunnerError::BadArgument { .. }), "{err:?}");

    let mut missing = all.clone();
    missing.remove("w_o");
    let err = causal
        .run(&missing, &heads(2), &Device::Cpu)
        .expect_err("no w_o");
    assert!(
        matches!(&err, RunnerError::MissingInput { input, .. } if input == "w_o"),
        "{err:?}"
    );

    let mut extra = all.clone();
    extra.insert("mask".to_owned(), w.clone());
    let err = causal
        .run(&extra, &heads(2), &Device::Cpu)
        .expect_err("no mask input");
    assert!(
        matches!(&err, RunnerError::UnexpectedInput { input, .. } if input == "mask"),
        "{err:?}"
    );

    let narrow_w = tensor(&rng.values(24, 0.4), &[6, 4]);
    let mut bad = all.clone();
    bad.insert("w_v".to_owned(), narrow_w);
    let err = causal
        .run(&bad, &heads(2), &Device::Cpu)
        .expect_err("w_v is [6, 4]");
    match &err {
        RunnerError::Shape { op, shapes, .. } => {
            assert_eq!(*op, "causal-attention");
            assert_eq!(shapes, &[("w_v".to_owned(), vec![6, 4])]);
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(err.to_string().contains("w_v [6, 4]"), "{err}");

    let q = tensor(&rng.values(2 * 3 * 4, 1.0), &[2, 3, 4]);
    let k = tensor(&rng.values(2 * 5 * 4, 1.0), &[2, 5, 4]);
    let v = tensor(&rng.values(2 * 4 * 4, 1.0), &[2, 4, 4]);
    let err = by_name("attention")
        .expect("attention")
        .run(
            &inputs(&[("q", &q), ("k", &k), ("v", &v)]),
            &BTreeMap::new(),
            &Device::Cpu,
        )
        .expect_err("k has 5 positions, v 4");
    assert!(
        matches!(
            err,
            RunnerError::Shape {
                op: "attention",
                ..
            }
        ),
        "{err:?}"
    );

    let bad_mask = crate::mask(&[true; 6], &[2, 3]);
    let k = tensor(&rng.values(2 * 4 * 4, 1.0), &[2, 4, 4]);
    let err = by_name("attention")
        .expect("attention")
        .run(
            &inputs(&[("q", &q), ("k", &k), ("v", &v), ("mask", &bad_mask)]),
            &args(&[("causal", ArgValue::Bool(true))]),
            &Device::Cpu,
        )
        .expect_err("mask [2, 3] does not broadcast to [2, 3, 4]");
    assert!(matches!(err, RunnerError::Shape { .. }), "{err:?}");

    let ints = Tensor::from_vec(vec![1i64; 36], (6, 6), &Device::Cpu).expect("ints");
    let mut int_w = all.clone();
    int_w.insert("w_q".to_owned(), ints);
    let err = causal
        .run(&int_w, &heads(2), &Device::Cpu)
        .expect_err("integer weights");
    assert!(
        matches!(&err, RunnerError::DType { input, .. } if input == "w_q"),
        "{err:?}"
    );

    // Sanity: the same inputs with a valid head count run.
    let out = causal
        .run(&all, &heads(3), &Device::Cpu)
        .expect("3 heads of 2");
    assert!(values_of(&out["out"]).iter().all(|v| v.is_finite()));
}

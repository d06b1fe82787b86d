//! BERT masking: `mlm_mask` makes what BERT does, `check_mlm` judges by properties.

use lectern_runner::reference::{IGNORE_INDEX, check_mlm, mlm_mask};

use crate::Rng;

const VOCAB: i64 = 1000;
const MASK_ID: i64 = 999;

/// `n` tokens in `[0, MASK_ID)`, so that no original token is the mask id.
fn tokens(rng: &mut Rng, n: usize) -> Vec<i64> {
    (0..n).map(|_| rng.below(MASK_ID as u64) as i64).collect()
}

#[test]
fn mlm_mask_has_the_bert_proportions() {
    let mut rng = Rng::new(30);
    let toks = tokens(&mut rng, 20_000);
    let s = mlm_mask(&toks, MASK_ID, VOCAB, 7, 0.15).expect("mask");
    let chosen: Vec<usize> = (0..toks.len())
        .filter(|&i| s.labels[i] != IGNORE_INDEX)
        .collect();
    let frac = chosen.len() as f64 / toks.len() as f64;
    let masked =
        chosen.iter().filter(|&&i| s.inputs[i] == MASK_ID).count() as f64 / chosen.len() as f64;
    let kept =
        chosen.iter().filter(|&&i| s.inputs[i] == toks[i]).count() as f64 / chosen.len() as f64;
    eprintln!("mlm_mask: chosen {frac:.4}, masked {masked:.4}, kept {kept:.4}");
    // 20k tokens: σ(chosen) ≈ 0.0025, σ(masked) ≈ 0.013 over ~3000 chosen.
    assert!((frac - 0.15).abs() < 0.0125, "chosen {frac}");
    assert!((masked - 0.8).abs() < 0.05, "masked {masked}");
    assert!((kept - 0.1).abs() < 0.04, "kept {kept}");
    for (i, ((&token, &input), &label)) in toks.iter().zip(&s.inputs).zip(&s.labels).enumerate() {
        if label == IGNORE_INDEX {
            assert_eq!(input, token, "unchosen position {i} changed");
        } else {
            assert_eq!(label, token);
            assert!((0..VOCAB).contains(&input));
        }
    }
    // Reproducible from its seed, different for another seed.
    assert_eq!(mlm_mask(&toks, MASK_ID, VOCAB, 7, 0.15).expect("again"), s);
    assert_ne!(
        mlm_mask(&toks, MASK_ID, VOCAB, 8, 0.15).expect("other seed"),
        s
    );
}

#[test]
fn check_mlm_accepts_mlm_masks_own_output() {
    let mut rng = Rng::new(31);
    for (n, p) in [
        (1, 0.15),
        (10, 0.15),
        (128, 0.15),
        (4096, 0.15),
        (4096, 0.3),
        (512, 0.0),
        (512, 1.0),
    ] {
        let toks = tokens(&mut rng, n);
        for seed in 0..10 {
            let s = mlm_mask(&toks, MASK_ID, VOCAB, seed, p).expect("mask");
            check_mlm(&toks, &s.inputs, &s.labels, MASK_ID, VOCAB, p)
                .unwrap_or_else(|why| panic!("n={n} p={p} seed={seed} rejected: {why}"));
        }
    }
}

#[test]
fn check_mlm_rejects_broken_maskings() {
    let mut rng = Rng::new(32);
    let toks = tokens(&mut rng, 4096);
    let good = mlm_mask(&toks, MASK_ID, VOCAB, 1, 0.15).expect("mask");
    let judge =
        |inputs: &[i64], labels: &[i64]| check_mlm(&toks, inputs, labels, MASK_ID, VOCAB, 0.15);
    assert!(judge(&good.inputs, &good.labels).is_ok());

    let unchosen = (0..toks.len())
        .find(|&i| good.labels[i] == IGNORE_INDEX)
        .expect("an unchosen position");
    let chosen = (0..toks.len())
        .find(|&i| good.labels[i] != IGNORE_INDEX)
        .expect("a chosen position");

    let mut inputs = good.inputs.clone();
    inputs[unchosen] = MASK_ID;
    let why = judge(&inputs, &good.labels).expect_err("an unchosen position changed");
    assert!(why.contains("not chosen"), "{why}");

    let mut labels = good.labels.clone();
    labels[chosen] = (toks[chosen] + 1) % MASK_ID;
    let why = judge(&good.inputs, &labels).expect_err("a wrong label");
    assert!(why.contains("label"), "{why}");

    // Labels everywhere (not -100 at unchosen positions) are wrong too: the loss would
    // train on copying unmasked tokens. The fraction chosen then looks like 100%.
    assert!(judge(&good.inputs, &toks).is_err());

    // The label of a masked position must be the original, not the mask id.
    let mut labels = good.labels.clone();
    let masked = (0..toks.len())
        .find(|&i| good.inputs[i] == MASK_ID)
        .expect("a masked position");
    labels[masked] = MASK_ID;
    assert!(judge(&good.inputs, &labels).is_err());

    assert!(
        judge(&good.inputs[1..], &good.labels).is_err(),
        "lengths differ"
    );

    // Every chosen position masked (no 10% random / 10% unchanged).
    let mut inputs = good.inputs.clone();
    for (input, &label) in inputs.iter_mut().zip(&good.labels) {
        if label != IGNORE_INDEX {
            *input = MASK_ID;
        }
    }
    let why = judge(&inputs, &good.labels).expect_err("100% mask");
    assert!(why.contains("mask id"), "{why}");

    // Twice the masking rate.
    let heavy = mlm_mask(&toks, MASK_ID, VOCAB, 1, 0.3).expect("mask");
    let why = judge(&heavy.inputs, &heavy.labels).expect_err("p = 0.3 judged as 0.15");
    assert!(why.contains("chosen"), "{why}");

    // A replacement outside the vocabulary.
    let mut inputs = good.inputs.clone();
    inputs[chosen] = VOCAB + 5;
    assert!(judge(&inputs, &good.labels).is_err());
}

#[test]
fn mlm_mask_rejects_nonsense_settings() {
    assert!(mlm_mask(&[1, 2, 3], MASK_ID, 0, 0, 0.15).is_err());
    assert!(mlm_mask(&[1, 2, 3], MASK_ID, VOCAB, 0, 1.5).is_err());
    assert!(check_mlm(&[1], &[1], &[IGNORE_INDEX], MASK_ID, VOCAB, -0.1).is_err());
}

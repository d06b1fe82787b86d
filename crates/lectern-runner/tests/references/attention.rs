//! Attention references against the f64 twins, and the behaviours the course checks.

use candle_core::{DType, Tensor};
use lectern_runner::reference::{
    bidirectional_self_attention, causal_self_attention, cross_attention, decode_step,
    scaled_dot_product_attention,
};

use crate::naive::{self, Weights};
use crate::{Rng, assert_close, assert_close_tol, mask, tensor, tensor_of, values_of};

/// Random `[dm, dm]` weights scaled like a 1/√dm initialisation, as f64 and as tensors.
fn weights(rng: &mut Rng, dm: usize) -> (Weights, [Tensor; 4]) {
    let scale = 1.0 / (dm as f64).sqrt();
    let w = Weights {
        w_q: rng.values(dm * dm, scale),
        w_k: rng.values(dm * dm, scale),
        w_v: rng.values(dm * dm, scale),
        w_o: rng.values(dm * dm, scale),
    };
    let t = [&w.w_q, &w.w_k, &w.w_v, &w.w_o].map(|m| tensor(m, &[dm, dm]));
    (w, t)
}

#[test]
fn attention_matches_naive_with_and_without_masks() {
    let mut rng = Rng::new(1);
    // (leading axes, lq, lk, d, dv)
    let cases: [(&[usize], usize, usize, usize, usize); 5] = [
        (&[], 3, 5, 4, 2),
        (&[1], 1, 1, 1, 1),
        (&[2], 4, 4, 8, 8),
        (&[2, 3], 5, 7, 16, 4),
        (&[3, 2], 6, 3, 5, 6),
    ];
    for (lead, lq, lk, d, dv) in cases {
        let batch: usize = lead.iter().product();
        let shape = |a: usize, b: usize| [lead, &[a, b]].concat();
        let (q, k, v) = (
            rng.values(batch * lq * d, 1.5),
            rng.values(batch * lk * d, 1.5),
            rng.values(batch * lk * dv, 1.5),
        );
        let (qt, kt, vt) = (
            tensor(&q, &shape(lq, d)),
            tensor(&k, &shape(lk, d)),
            tensor(&v, &shape(lk, dv)),
        );
        let what = format!("attention {lead:?} lq={lq} lk={lk} d={d} dv={dv}");

        let got = scaled_dot_product_attention(&qt, &kt, &vt, None).expect("attention");
        let want = naive::attention(&q, &k, &v, None, batch, lq, lk, d, dv);
        assert_close(&what, &got, &want, &shape(lq, dv));

        // A random full-shape mask, with query row 0 of every problem fully masked.
        let mut keep = rng.flags(batch * lq * lk, 0.6);
        for b in 0..batch {
            keep[b * lq * lk..b * lq * lk + lk].fill(false);
        }
        let got = scaled_dot_product_attention(&qt, &kt, &vt, Some(&mask(&keep, &shape(lq, lk))))
            .expect("masked attention");
        let want = naive::attention(&q, &k, &v, Some(&keep), batch, lq, lk, d, dv);
        assert_close(&format!("{what}, masked"), &got, &want, &shape(lq, dv));

        // A `[lq, lk]` mask broadcast over the leading axes.
        let small = rng.flags(lq * lk, 0.7);
        let full: Vec<bool> = (0..batch).flat_map(|_| small.iter().copied()).collect();
        let got = scaled_dot_product_attention(&qt, &kt, &vt, Some(&mask(&small, &[lq, lk])))
            .expect("broadcast mask");
        let want = naive::attention(&q, &k, &v, Some(&full), batch, lq, lk, d, dv);
        assert_close(
            &format!("{what}, broadcast mask"),
            &got,
            &want,
            &shape(lq, dv),
        );
    }
}

#[test]
fn a_fully_masked_row_gives_zeros_and_leaves_other_rows_alone() {
    let mut rng = Rng::new(2);
    let (lq, lk, d) = (3, 4, 8);
    let (q, k, v) = (
        rng.values(lq * d, 1.0),
        rng.values(lk * d, 1.0),
        rng.values(lk * d, 1.0),
    );
    let keep = [
        [true, false, true, true],
        [false, false, false, false],
        [true, true, true, true],
    ]
    .concat();
    let got = scaled_dot_product_attention(
        &tensor(&q, &[lq, d]),
        &tensor(&k, &[lk, d]),
        &tensor(&v, &[lk, d]),
        Some(&mask(&keep, &[lq, lk])),
    )
    .expect("attention");
    let rows = values_of(&got);
    assert!(
        rows[d..2 * d].iter().all(|&x| x == 0.0),
        "row 1 should be zeros: {rows:?}"
    );
    assert!(rows[..d].iter().any(|&x| x != 0.0) && rows[2 * d..].iter().any(|&x| x != 0.0));
    let want = naive::attention(&q, &k, &v, Some(&keep), 1, lq, lk, d, d);
    assert_close("fully masked row", &got, &want, &[lq, d]);
}

/// Integer-valued q and k whose scores are exact in f32 and near 1e4: a naive softmax
/// overflows `exp` to inf (and NaN), the stable one must match the f64 twin exactly.
#[test]
fn scores_near_1e4_stay_finite_and_correct() {
    let mut rng = Rng::new(3);
    let (batch, lq, lk, d) = (2, 5, 6, 16);
    // All but the last coordinate are 50 in q and k, so every dot product carries
    // 15·2500 = 37500; the last coordinates are small integers (q in 1..=2, k in -3..=3),
    // so scores = (37500 + q₁₅·k₁₅) / √16 ≈ 9375 differ by multiples of 0.25 and are
    // exact in f32 — the softmax is spread, not one-hot.
    let coords = |rng: &mut Rng, n: usize, last: &dyn Fn(&mut Rng) -> f64| -> Vec<f64> {
        (0..n)
            .map(|i| if i % d == d - 1 { last(rng) } else { 50.0 })
            .collect()
    };
    let q = coords(&mut rng, batch * lq * d, &|r| 1.0 + r.below(2) as f64);
    let k = coords(&mut rng, batch * lk * d, &|r| r.below(7) as f64 - 3.0);
    let v = rng.values(batch * lk * d, 1.0);
    let scores_min = 37500.0 / 4.0 - 2.0 * 3.0 / 4.0;
    assert!(scores_min > 9_000.0, "the test must reach large logits");
    let got = scaled_dot_product_attention(
        &tensor(&q, &[batch, lq, d]),
        &tensor(&k, &[batch, lk, d]),
        &tensor(&v, &[batch, lk, d]),
        None,
    )
    .expect("attention");
    let want = naive::attention(&q, &k, &v, None, batch, lq, lk, d, d);
    assert_close("scores near 1e4 (exact)", &got, &want, &[batch, lq, d]);

    // Random logits of the same size: f32 rounds a score of 1e4 to ~1e-3, which moves
    // softmax weights by ~0.1%, so only finiteness and a loose agreement can be asked.
    let (q, k) = (
        rng.values(batch * lq * d, 50.0),
        rng.values(batch * lk * d, 50.0),
    );
    let got = scaled_dot_product_attention(
        &tensor(&q, &[batch, lq, d]),
        &tensor(&k, &[batch, lk, d]),
        &tensor(&v, &[batch, lk, d]),
        None,
    )
    .expect("attention");
    let want = naive::attention(&q, &k, &v, None, batch, lq, lk, d, d);
    assert_close_tol(
        "scores near 1e4 (random, loose 1e-2)",
        &got,
        &want,
        &[batch, lq, d],
        1e-2,
        0.0,
    );
}

#[test]
fn attention_in_f64_matches_the_twin_to_f64_precision() {
    let mut rng = Rng::new(4);
    let (batch, lq, lk, d) = (2, 4, 5, 8);
    let (q, k, v) = (
        rng.values(batch * lq * d, 1.0),
        rng.values(batch * lk * d, 1.0),
        rng.values(batch * lk * d, 1.0),
    );
    let t = |x: &[f64], l| tensor_of(x, &[batch, l, d], DType::F64);
    let got = scaled_dot_product_attention(&t(&q, lq), &t(&k, lk), &t(&v, lk), None).expect("f64");
    assert_eq!(got.dtype(), DType::F64);
    let want = naive::attention(&q, &k, &v, None, batch, lq, lk, d, d);
    assert_close_tol("attention f64", &got, &want, &[batch, lq, d], 1e-12, 1e-12);
}

#[test]
fn causal_self_attention_matches_naive() {
    let mut rng = Rng::new(5);
    for (batch, l, dm, h) in [(1, 1, 4, 1), (2, 5, 8, 2), (3, 7, 12, 3), (2, 6, 16, 4)] {
        let x = rng.values(batch * l * dm, 1.0);
        let (w, [w_q, w_k, w_v, w_o]) = weights(&mut rng, dm);
        let got = causal_self_attention(&tensor(&x, &[batch, l, dm]), &w_q, &w_k, &w_v, &w_o, h)
            .expect("causal");
        let want = naive::multi_head(&x, &x, &w, batch, l, l, dm, h, |_, i, j| j <= i);
        assert_close(
            &format!("causal B={batch} L={l} D={dm} H={h}"),
            &got,
            &want,
            &[batch, l, dm],
        );
    }
}

#[test]
fn causal_output_at_t_ignores_later_tokens() {
    let mut rng = Rng::new(6);
    let (batch, l, dm, h) = (2, 8, 8, 2);
    let (_, [w_q, w_k, w_v, w_o]) = weights(&mut rng, dm);
    let x = rng.values(batch * l * dm, 1.0);
    let before = causal_self_attention(&tensor(&x, &[batch, l, dm]), &w_q, &w_k, &w_v, &w_o, h)
        .expect("causal");
    for t in [0, 3, l - 2] {
        // Replace every token after position t (in both batch items) with new values.
        let mut changed = x.clone();
        for b in 0..batch {
            let fresh = rng.values((l - t - 1) * dm, 3.0);
            changed[(b * l + t + 1) * dm..(b + 1) * l * dm].copy_from_slice(&fresh);
        }
        let after = causal_self_attention(
            &tensor(&changed, &[batch, l, dm]),
            &w_q,
            &w_k,
            &w_v,
            &w_o,
            h,
        )
        .expect("causal");
        let (a, b) = (values_of(&before), values_of(&after));
        for item in 0..batch {
            let rows = |v: &[f64], from: usize, to: usize| {
                v[(item * l + from) * dm..(item * l + to) * dm].to_vec()
            };
            let past = rows(&a, 0, t + 1)
                .iter()
                .zip(rows(&b, 0, t + 1))
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max);
            assert!(
                past <= 1e-6,
                "position ≤ {t} changed by {past:e} when later tokens changed"
            );
            // And the test can see a change where one is due: later positions do move.
            let future = rows(&a, t + 1, l)
                .iter()
                .zip(rows(&b, t + 1, l))
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max);
            assert!(
                future > 1e-3,
                "positions after {t} should change, moved {future:e}"
            );
        }
    }
}

#[test]
fn bidirectional_attention_matches_naive_with_padding() {
    let mut rng = Rng::new(7);
    for (batch, l, dm, h) in [(1, 4, 4, 1), (3, 6, 8, 2), (2, 5, 12, 3)] {
        let x = rng.values(batch * l * dm, 1.0);
        let (w, [w_q, w_k, w_v, w_o]) = weights(&mut rng, dm);
        let xt = tensor(&x, &[batch, l, dm]);
        let what = format!("bidirectional B={batch} L={l} D={dm} H={h}");

        let got = bidirectional_self_attention(&xt, &w_q, &w_k, &w_v, &w_o, h, None).expect("bert");
        let want = naive::multi_head(&x, &x, &w, batch, l, l, dm, h, |_, _, _| true);
        assert_close(&what, &got, &want, &[batch, l, dm]);

        // Item b has l - b real tokens then padding; the last item of a batch of 3 is
        // padded down to 4 of 6 tokens.
        let real: Vec<bool> = (0..batch)
            .flat_map(|b| (0..l).map(move |j| j < l - b))
            .collect();
        let got = bidirectional_self_attention(
            &xt,
            &w_q,
            &w_k,
            &w_v,
            &w_o,
            h,
            Some(&mask(&real, &[batch, l])),
        )
        .expect("bert, padded");
        let want = naive::multi_head(&x, &x, &w, batch, l, l, dm, h, |b, _, j| real[b * l + j]);
        assert_close(&format!("{what}, padded"), &got, &want, &[batch, l, dm]);
    }
}

#[test]
fn padded_keys_get_no_weight() {
    // Changing what sits in padded positions must not change any real position's output.
    let mut rng = Rng::new(8);
    let (batch, l, dm, h) = (2, 6, 8, 2);
    let (_, [w_q, w_k, w_v, w_o]) = weights(&mut rng, dm);
    let x = rng.values(batch * l * dm, 1.0);
    let real: Vec<bool> = (0..batch * l).map(|i| i % l < 4).collect();
    let pad = mask(&real, &[batch, l]);
    let run = |x: &[f64]| {
        values_of(
            &bidirectional_self_attention(
                &tensor(x, &[batch, l, dm]),
                &w_q,
                &w_k,
                &w_v,
                &w_o,
                h,
                Some(&pad),
            )
            .expect("bert"),
        )
    };
    let mut changed = x.clone();
    for (i, v) in changed.iter_mut().enumerate() {
        if !real[i / dm] {
            *v += 5.0;
        }
    }
    let (a, b) = (run(&x), run(&changed));
    for pos in (0..batch * l).filter(|&p| real[p]) {
        let moved = (0..dm)
            .map(|c| (a[pos * dm + c] - b[pos * dm + c]).abs())
            .fold(0.0, f64::max);
        assert!(moved <= 1e-6, "real position {pos} moved by {moved:e}");
    }
    // Without the mask the same change is visible: the check above is not vacuous.
    let unmasked = |x: &[f64]| {
        values_of(
            &bidirectional_self_attention(
                &tensor(x, &[batch, l, dm]),
                &w_q,
                &w_k,
                &w_v,
                &w_o,
                h,
                None,
            )
            .expect("bert"),
        )
    };
    let moved = unmasked(&x)
        .iter()
        .zip(unmasked(&changed))
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max);
    assert!(moved > 1e-3);
}

#[test]
fn cross_attention_matches_naive() {
    let mut rng = Rng::new(9);
    for (batch, lq, lk, dm, h) in [(1, 1, 3, 4, 1), (2, 3, 7, 8, 2), (3, 5, 4, 12, 4)] {
        let x = rng.values(batch * lq * dm, 1.0);
        let enc = rng.values(batch * lk * dm, 1.0);
        let (w, [w_q, w_k, w_v, w_o]) = weights(&mut rng, dm);
        let (xt, et) = (tensor(&x, &[batch, lq, dm]), tensor(&enc, &[batch, lk, dm]));
        let what = format!("cross B={batch} Lq={lq} Lk={lk} D={dm} H={h}");

        let got = cross_attention(&xt, &et, &w_q, &w_k, &w_v, &w_o, h, None).expect("cross");
        let want = naive::multi_head(&x, &enc, &w, batch, lq, lk, dm, h, |_, _, _| true);
        assert_close(&what, &got, &want, &[batch, lq, dm]);

        let mut real = rng.flags(batch * lk, 0.7);
        real[0] = true; // at least one real encoder token in item 0
        let got = cross_attention(
            &xt,
            &et,
            &w_q,
            &w_k,
            &w_v,
            &w_o,
            h,
            Some(&mask(&real, &[batch, lk])),
        )
        .expect("cross, masked");
        let want = naive::multi_head(&x, &enc, &w, batch, lq, lk, dm, h, |b, _, j| {
            real[b * lk + j]
        });
        assert_close(&format!("{what}, enc_mask"), &got, &want, &[batch, lq, dm]);

        let ones = mask(&vec![true; batch * lk], &[batch, lk]);
        let with_ones =
            cross_attention(&xt, &et, &w_q, &w_k, &w_v, &w_o, h, Some(&ones)).expect("cross");
        let without = cross_attention(&xt, &et, &w_q, &w_k, &w_v, &w_o, h, None).expect("cross");
        let diff = values_of(&with_ones)
            .iter()
            .zip(values_of(&without))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!("{what}: all-ones enc_mask vs none, max abs difference {diff:.3e}");
        assert!(
            diff <= 1e-6,
            "an all-ones enc_mask changed the output by {diff:e}"
        );
    }
}

#[test]
fn decode_step_matches_naive_on_a_filled_cache() {
    let mut rng = Rng::new(10);
    for (batch, t, dm, h) in [(1, 0, 4, 1), (2, 3, 8, 2), (3, 5, 12, 3)] {
        let dh = dm / h;
        let x_t = rng.values(batch * dm, 1.0);
        let (ck, cv) = (
            rng.values(batch * h * t * dh, 1.0),
            rng.values(batch * h * t * dh, 1.0),
        );
        let (w, [w_q, w_k, w_v, w_o]) = weights(&mut rng, dm);
        let (y, k, v) = decode_step(
            &tensor(&x_t, &[batch, 1, dm]),
            &tensor(&ck, &[batch, h, t, dh]),
            &tensor(&cv, &[batch, h, t, dh]),
            &w_q,
            &w_k,
            &w_v,
            &w_o,
            h,
        )
        .expect("decode");
        let (want_y, want_k, want_v) = naive::decode_step(&x_t, &ck, &cv, &w, batch, t, dm, h);
        let what = format!("decode_step B={batch} T={t} D={dm} H={h}");
        assert_close(&format!("{what}: y_t"), &y, &want_y, &[batch, 1, dm]);
        assert_close(
            &format!("{what}: cache_k"),
            &k,
            &want_k,
            &[batch, h, t + 1, dh],
        );
        assert_close(
            &format!("{what}: cache_v"),
            &v,
            &want_v,
            &[batch, h, t + 1, dh],
        );
    }
}

#[test]
fn decoding_token_by_token_equals_full_causal_attention() {
    let mut rng = Rng::new(11);
    for (batch, l, dm, h) in [(1, 4, 4, 1), (2, 7, 8, 2), (3, 6, 12, 4)] {
        let dh = dm / h;
        let x = rng.values(batch * l * dm, 1.0);
        let (_, [w_q, w_k, w_v, w_o]) = weights(&mut rng, dm);
        let xt = tensor(&x, &[batch, l, dm]);
        let full =
            values_of(&causal_self_attention(&xt, &w_q, &w_k, &w_v, &w_o, h).expect("causal"));
        let mut cache_k = tensor(&[], &[batch, h, 0, dh]);
        let mut cache_v = tensor(&[], &[batch, h, 0, dh]);
        let mut max_err = 0.0f64;
        for t in 0..l {
            let x_t = xt.narrow(1, t, 1).expect("narrow");
            let (y, k, v) =
                decode_step(&x_t, &cache_k, &cache_v, &w_q, &w_k, &w_v, &w_o, h).expect("step");
            assert_eq!(k.dims(), [batch, h, t + 1, dh]);
            let y = values_of(&y);
            for b in 0..batch {
                for c in 0..dm {
                    let want = full[(b * l + t) * dm + c];
                    let err = (y[b * dm + c] - want).abs();
                    assert!(
                        err <= crate::ATOL + crate::RTOL * want.abs(),
                        "t={t} b={b} c={c}: {err:e}"
                    );
                    max_err = max_err.max(err);
                }
            }
            (cache_k, cache_v) = (k, v);
        }
        eprintln!("decode vs causal B={batch} L={l} D={dm} H={h}: max abs error {max_err:.3e}");
    }
}

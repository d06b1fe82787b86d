//! Layer norm, GELU and the feed-forward MLP against the f64 twins.

use lectern_runner::reference::{feed_forward, gelu, layer_norm};

use crate::naive;
use crate::{Rng, assert_close, tensor};

#[test]
fn the_twin_erf_matches_published_values() {
    // Abramowitz & Stegun, Table 7.1, and erf(3), erf(4) to 16 digits.
    for (x, want) in [
        (0.0, 0.0),
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.0, 0.995_322_265_018_952_7),
        (3.0, 0.999_977_909_503_001_4),
        (4.0, 0.999_999_984_582_742_1),
        (-1.0, -0.842_700_792_949_714_9),
    ] {
        let got = naive::erf(x);
        assert!(
            (got - want).abs() < 1e-13,
            "erf({x}) = {got}, expected {want}"
        );
    }
    // And just either side of the switch from series to continued fraction.
    assert!((naive::erf(2.999_999) - naive::erf(3.0)).abs() < 1e-9);
}

#[test]
fn layer_norm_matches_naive() {
    let mut rng = Rng::new(20);
    for (shape, eps) in [
        (&[5][..], 1e-5),
        (&[2, 3, 8][..], 1e-5),
        (&[4, 16][..], 1e-3),
        (&[3, 1][..], 1e-5),
    ] {
        let d = *shape.last().expect("rank ≥ 1");
        let n: usize = shape.iter().product();
        // An offset and a spread per test, so the mean and variance matter.
        let x: Vec<f64> = rng.values(n, 2.0).iter().map(|v| v + 3.0).collect();
        let (gamma, beta) = (rng.values(d, 1.5), rng.values(d, 0.5));
        let got = layer_norm(
            &tensor(&x, shape),
            &tensor(&gamma, &[d]),
            &tensor(&beta, &[d]),
            eps,
        )
        .expect("layer norm");
        let want = naive::layer_norm(&x, d, &gamma, &beta, eps);
        assert_close(
            &format!("layer_norm {shape:?} eps={eps}"),
            &got,
            &want,
            shape,
        );
    }
}

#[test]
fn gelu_is_the_exact_erf_form() {
    let mut rng = Rng::new(21);
    let mut x = rng.values(200, 6.0);
    x.extend([0.0, 1.0, -1.0, 3.0, -3.0, 10.0, -10.0]);
    let got = gelu(&tensor(&x, &[x.len()])).expect("gelu");
    let want: Vec<f64> = x.iter().map(|&v| naive::gelu(v)).collect();
    assert_close("gelu", &got, &want, &[x.len()]);
    // The tanh approximation differs from the exact form by up to ~5e-4 near |x| ≈ 2:
    // make sure the tolerance above could have told them apart.
    let tanh_gelu = |v: f64| {
        0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044_715 * v * v * v)).tanh())
    };
    let gap = x
        .iter()
        .map(|&v| (tanh_gelu(v) - naive::gelu(v)).abs())
        .fold(0.0, f64::max);
    assert!(
        gap > 1e-4,
        "the tanh form should be distinguishable, gap {gap:e}"
    );
}

#[test]
fn feed_forward_matches_naive() {
    let mut rng = Rng::new(22);
    for (lead, d, f) in [
        (&[1][..], 4, 8),
        (&[3][..], 4, 16),
        (&[2, 5][..], 8, 32),
        (&[][..], 6, 6),
    ] {
        let rows: usize = lead.iter().product();
        let shape = [lead, &[d]].concat();
        let x = rng.values(rows * d, 1.5);
        let (w1, b1) = (
            rng.values(d * f, 1.0 / (d as f64).sqrt()),
            rng.values(f, 0.5),
        );
        let (w2, b2) = (
            rng.values(f * d, 1.0 / (f as f64).sqrt()),
            rng.values(d, 0.5),
        );
        let got = feed_forward(
            &tensor(&x, &shape),
            &tensor(&w1, &[d, f]),
            &tensor(&b1, &[f]),
            &tensor(&w2, &[f, d]),
            &tensor(&b2, &[d]),
        )
        .expect("feed forward");
        let want = naive::feed_forward(&x, rows, d, f, &w1, &b1, &w2, &b2);
        assert_close(
            &format!("feed_forward {shape:?} F={f}"),
            &got,
            &want,
            &shape,
        );
    }
}

//! The float64 twins: each op written the slowest, plainest way, with loops over row-major
//! `Vec<f64>`s and no candle, so that a mistake in the references cannot be copied here.

/// `a [rows, inner] @ w [inner, cols]`.
pub fn matmul(a: &[f64], rows: usize, inner: usize, w: &[f64], cols: usize) -> Vec<f64> {
    assert_eq!(a.len(), rows * inner);
    assert_eq!(w.len(), inner * cols);
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let mut s = 0.0;
            for i in 0..inner {
                s += a[r * inner + i] * w[i * cols + c];
            }
            out[r * cols + c] = s;
        }
    }
    out
}

/// One query row attending to keys `0..lk`: `keep(j)` says whether key `j` may be used.
/// `q_row` has `d` values; `key(j, c)` and `value(j, c)` read key/value `j`.
/// With no key kept, the row's output is zeros (the references' documented choice).
fn attend_row(
    q_row: &[f64],
    lk: usize,
    dv: usize,
    keep: impl Fn(usize) -> bool,
    key: impl Fn(usize, usize) -> f64,
    value: impl Fn(usize, usize) -> f64,
) -> Vec<f64> {
    let d = q_row.len();
    let scores: Vec<Option<f64>> = (0..lk)
        .map(|j| {
            keep(j).then(|| {
                let dot: f64 = (0..d).map(|c| q_row[c] * key(j, c)).sum();
                dot / (d as f64).sqrt()
            })
        })
        .collect();
    let mut out = vec![0.0; dv];
    let Some(max) = scores.iter().flatten().copied().reduce(f64::max) else {
        return out;
    };
    let weights: Vec<f64> = scores
        .iter()
        .map(|s| s.map_or(0.0, |s| (s - max).exp()))
        .collect();
    let total: f64 = weights.iter().sum();
    for (j, w) in weights.iter().enumerate() {
        for (c, o) in out.iter_mut().enumerate() {
            *o += w / total * value(j, c);
        }
    }
    out
}

/// Attention over `batch` independent problems: q `[batch, lq, d]`, k `[batch, lk, d]`,
/// v `[batch, lk, dv]`, `keep` `[batch, lq, lk]` (None: keep all). Returns `[batch, lq, dv]`.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    keep: Option<&[bool]>,
    batch: usize,
    lq: usize,
    lk: usize,
    d: usize,
    dv: usize,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(batch * lq * dv);
    for b in 0..batch {
        for i in 0..lq {
            let q_row = &q[(b * lq + i) * d..(b * lq + i + 1) * d];
            out.extend(attend_row(
                q_row,
                lk,
                dv,
                |j| keep.is_none_or(|m| m[(b * lq + i) * lk + j]),
                |j, c| k[(b * lk + j) * d + c],
                |j, c| v[(b * lk + j) * dv + c],
            ));
        }
    }
    out
}

/// The four `[dm, dm]` weights of a multi-head layer.
pub struct Weights {
    pub w_q: Vec<f64>,
    pub w_k: Vec<f64>,
    pub w_v: Vec<f64>,
    pub w_o: Vec<f64>,
}

/// Multi-head attention: queries from `x [batch, lq, dm]`, keys/values from
/// `src [batch, lk, dm]`, `h` heads taken as consecutive column blocks of each
/// projection; `keep(b, i, j)` says whether query `i` of item `b` may use key `j`.
#[allow(clippy::too_many_arguments)]
pub fn multi_head(
    x: &[f64],
    src: &[f64],
    w: &Weights,
    batch: usize,
    lq: usize,
    lk: usize,
    dm: usize,
    h: usize,
    keep: impl Fn(usize, usize, usize) -> bool,
) -> Vec<f64> {
    let dh = dm / h;
    let q = matmul(x, batch * lq, dm, &w.w_q, dm);
    let k = matmul(src, batch * lk, dm, &w.w_k, dm);
    let v = matmul(src, batch * lk, dm, &w.w_v, dm);
    let mut merged = vec![0.0; batch * lq * dm];
    for b in 0..batch {
        for head in 0..h {
            for i in 0..lq {
                let row = (b * lq + i) * dm + head * dh;
                let out = attend_row(
                    &q[row..row + dh],
                    lk,
                    dh,
                    |j| keep(b, i, j),
                    |j, c| k[(b * lk + j) * dm + head * dh + c],
                    |j, c| v[(b * lk + j) * dm + head * dh + c],
                );
                merged[row..row + dh].copy_from_slice(&out);
            }
        }
    }
    matmul(&merged, batch * lq, dm, &w.w_o, dm)
}

/// One decoding step: `x_t [batch, 1, dm]`, caches `[batch, h, t, dm/h]`.
/// Returns `(y_t [batch, 1, dm], cache_k', cache_v' [batch, h, t+1, dm/h])`.
#[allow(clippy::too_many_arguments)]
pub fn decode_step(
    x_t: &[f64],
    cache_k: &[f64],
    cache_v: &[f64],
    w: &Weights,
    batch: usize,
    t: usize,
    dm: usize,
    h: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dh = dm / h;
    let q = matmul(x_t, batch, dm, &w.w_q, dm);
    let k = matmul(x_t, batch, dm, &w.w_k, dm);
    let v = matmul(x_t, batch, dm, &w.w_v, dm);
    let mut new_k = Vec::with_capacity(batch * h * (t + 1) * dh);
    let mut new_v = Vec::with_capacity(batch * h * (t + 1) * dh);
    for b in 0..batch {
        for head in 0..h {
            let old = (b * h + head) * t * dh;
            new_k.extend_from_slice(&cache_k[old..old + t * dh]);
            new_k.extend_from_slice(&k[b * dm + head * dh..b * dm + (head + 1) * dh]);
            new_v.extend_from_slice(&cache_v[old..old + t * dh]);
            new_v.extend_from_slice(&v[b * dm + head * dh..b * dm + (head + 1) * dh]);
        }
    }
    let mut merged = vec![0.0; batch * dm];
    for b in 0..batch {
        for head in 0..h {
            let base = (b * h + head) * (t + 1) * dh;
            let out = attend_row(
                &q[b * dm + head * dh..b * dm + (head + 1) * dh],
                t + 1,
                dh,
                |_| true,
                |j, c| new_k[base + j * dh + c],
                |j, c| new_v[base + j * dh + c],
            );
            merged[b * dm + head * dh..b * dm + (head + 1) * dh].copy_from_slice(&out);
        }
    }
    (matmul(&merged, batch, dm, &w.w_o, dm), new_k, new_v)
}

/// Layer norm of each length-`d` row, biased variance.
pub fn layer_norm(x: &[f64], d: usize, gamma: &[f64], beta: &[f64], eps: f64) -> Vec<f64> {
    x.chunks(d)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / d as f64;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
            let scale = 1.0 / (var + eps).sqrt();
            row.iter()
                .enumerate()
                .map(move |(c, v)| (v - mean) * scale * gamma[c] + beta[c])
                .collect::<Vec<_>>()
        })
        .collect()
}

/// erf by its Maclaurin series for |x| < 3 (terms stay below e⁹, so cancellation costs
/// at most ~4 digits of f64) and by the continued fraction of erfc beyond.
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let value = if a < 3.0 {
        // erf(x) = 2/√π Σ (-1)ⁿ x^(2n+1) / (n! (2n+1))
        let mut term = a; // (-1)ⁿ x^(2n+1) / n!
        let mut sum = a;
        for n in 1..200 {
            term *= -a * a / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
        let mut t = a;
        for n in (1..=80).rev() {
            t = a + (n as f64 / 2.0) / t;
        }
        1.0 - (-a * a).exp() / (std::f64::consts::PI.sqrt() * t)
    };
    value.copysign(x)
}

pub fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// `gelu(x @ w1 + b1) @ w2 + b2` for `rows` rows of width `d`, hidden width `f`.
#[allow(clippy::too_many_arguments)]
pub fn feed_forward(
    x: &[f64],
    rows: usize,
    d: usize,
    f: usize,
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
) -> Vec<f64> {
    let mut hidden = matmul(x, rows, d, w1, f);
    for (i, h) in hidden.iter_mut().enumerate() {
        *h = gelu(*h + b1[i % f]);
    }
    let mut out = matmul(&hidden, rows, f, w2, d);
    for (i, o) in out.iter_mut().enumerate() {
        *o += b2[i % d];
    }
    out
}

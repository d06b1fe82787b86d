//! A fused softmax over the last axis for CPU tensors, in place on freshly computed
//! attention scores: `softmax(scale · scores)` with an optional keep-mask, in three passes
//! over each row (maximum, `exp` and sum, normalise) instead of candle's six whole-tensor
//! ops with a temporary each. The rows are split between the machine's cores.
//!
//! Semantics are those of `attention::masked_softmax`: masked keys get weight 0, a row
//! with no attended key is all zeros, and each row's largest attended score is subtracted
//! first, so scores near 1e4 stay finite.
//!
//! `exp` for f32 is Cephes' `expf` polynomial (about 1 ulp on the range used here,
//! `(x − max) · scale ≤ 0`), written without branches or float-to-int casts so that the
//! compiler vectorises it; f64 uses the standard library's `exp`.

use candle_core::{CpuStorage, DType, Device, InplaceOp1, InplaceOp2, Layout, Tensor};

/// Rows shorter than this many elements in all are done on one thread.
const PARALLEL_FROM: usize = 1 << 16;

/// `softmax(scores · scale)` over the last axis, in place, when `scores` is a contiguous
/// f32 or f64 CPU tensor that nothing else shares (the caller just computed it); `keep`,
/// if given, must be a contiguous u8 tensor of the same shape (nonzero = attend).
/// Returns `Ok(false)` when the fused path does not apply and nothing was done.
pub(super) fn softmax_in_place(scores: &Tensor, scale: f64, keep: Option<&Tensor>) -> candle_core::Result<bool> {
    if !matches!(scores.device(), Device::Cpu)
        || !matches!(scores.dtype(), DType::F32 | DType::F64)
        || !scores.is_contiguous()
        || scores.rank() == 0
    {
        return Ok(false);
    }
    let op = Softmax { scale, row: scores.dim(candle_core::D::Minus1)? };
    match keep {
        None => scores.inplace_op1(&op)?,
        Some(keep) => {
            if keep.dtype() != DType::U8 || !keep.is_contiguous() || keep.dims() != scores.dims() {
                return Ok(false);
            }
            scores.inplace_op2(keep, &op)?;
        }
    }
    Ok(true)
}

struct Softmax {
    scale: f64,
    row: usize,
}

fn range(layout: &Layout) -> candle_core::Result<(usize, usize)> {
    layout.contiguous_offsets().ok_or_else(|| candle_core::Error::Msg("fused softmax: not contiguous".into()))
}

impl InplaceOp1 for Softmax {
    fn name(&self) -> &'static str {
        "lectern-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (start, end) = range(layout)?;
        match storage {
            CpuStorage::F32(data) => rows(&mut data[start..end], None, self.row, self.scale as f32),
            CpuStorage::F64(data) => rows(&mut data[start..end], None, self.row, self.scale),
            _ => return Err(candle_core::Error::Msg("fused softmax: f32 or f64 only".into())),
        }
        Ok(())
    }
}

impl InplaceOp2 for Softmax {
    fn name(&self) -> &'static str {
        "lectern-masked-softmax"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<()> {
        let (start, end) = range(l1)?;
        let (mstart, mend) = range(l2)?;
        let CpuStorage::U8(keep) = s2 else {
            return Err(candle_core::Error::Msg("fused softmax: the mask must be u8".into()));
        };
        let keep = &keep[mstart..mend];
        match s1 {
            CpuStorage::F32(data) => rows(&mut data[start..end], Some(keep), self.row, self.scale as f32),
            CpuStorage::F64(data) => rows(&mut data[start..end], Some(keep), self.row, self.scale),
            _ => return Err(candle_core::Error::Msg("fused softmax: f32 or f64 only".into())),
        }
        Ok(())
    }
}

/// The element types the fused softmax handles.
trait Real: Copy + Send + Sync + PartialOrd + PartialEq + std::ops::Sub<Output = Self> + std::ops::Mul<Output = Self> + std::ops::Add<Output = Self> {
    const ZERO: Self;
    const ONE: Self;
    const NEG_INF: Self;
    fn exp_nonpositive(self) -> Self;
    fn div(self, other: Self) -> Self;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INF: Self = f32::NEG_INFINITY;
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        self / other
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INF: Self = f64::NEG_INFINITY;
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        self / other
    }
}

/// `e^x` for f32 `x ≤ 0` (Cephes `expf`); below −87 (where f32 underflows) it is 0.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    // 1.5 · 2^23: adding it rounds to an integer held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let xc = if x < -87.0 { -87.0 } else { x };
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = xc - n * C1 - n * C2;
    let mut y = 1.987_569_1e-4_f32;
    y = y * r + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 0.5;
    y = y * r * r + r + 1.0;
    // 2^n from n's bits: t's mantissa holds 0x400000 + n.
    let pow2 = f32::from_bits(t.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23);
    let e = y * pow2;
    if x < -87.0 { 0.0 } else { e }
}

/// Every row of `data` (rows of `n`), split between the cores when there is enough work.
fn rows<T: Real>(data: &mut [T], keep: Option<&[u8]>, n: usize, scale: T) {
    if n == 0 {
        return;
    }
    let threads = if data.len() >= PARALLEL_FROM {
        // The same count as candle's matmuls (RAYON_NUM_THREADS, else the cores).
        candle_core::utils::get_num_threads().clamp(1, 8)
    } else {
        1
    };
    let per = data.len().div_ceil(n).div_ceil(threads) * n;
    if threads <= 1 || per >= data.len() {
        chunk(data, keep, n, scale);
        return;
    }
    std::thread::scope(|s| {
        let mut keeps = keep.map(|k| k.chunks(per));
        for part in data.chunks_mut(per) {
            let k = keeps.as_mut().and_then(Iterator::next);
            s.spawn(move || chunk(part, k, n, scale));
        }
    });
}

fn chunk<T: Real>(data: &mut [T], keep: Option<&[u8]>, n: usize, scale: T) {
    match keep {
        None => {
            for row in data.chunks_exact_mut(n) {
                plain_row(row, scale);
            }
        }
        Some(keep) => {
            for (row, keep) in data.chunks_exact_mut(n).zip(keep.chunks_exact(n)) {
                masked_row(row, keep, scale);
            }
        }
    }
}

/// Eight running accumulators, so that the compiler can use vector registers (a single
/// float accumulator must be added in order).
const LANES: usize = 8;

#[inline(always)]
fn row_max<T: Real>(row: &[T]) -> T {
    let mut acc = [T::NEG_INF; LANES];
    let mut it = row.chunks_exact(LANES);
    for c in &mut it {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    let mut m = T::NEG_INF;
    for &x in acc.iter().chain(it.remainder()) {
        m = if x > m { x } else { m };
    }
    m
}

#[inline(always)]
fn exp_and_sum<T: Real>(row: &mut [T], max: T, scale: T) -> T {
    for x in row.iter_mut() {
        *x = ((*x - max) * scale).exp_nonpositive();
    }
    let mut acc = [T::ZERO; LANES];
    let mut it = row.chunks_exact(LANES);
    for c in &mut it {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = *a + x;
        }
    }
    let mut sum = T::ZERO;
    for &x in acc.iter().chain(it.remainder()) {
        sum = sum + x;
    }
    sum
}

#[inline(always)]
fn normalise<T: Real>(row: &mut [T], sum: T) {
    let inv = T::ONE.div(sum);
    for x in row.iter_mut() {
        *x = *x * inv;
    }
}

fn plain_row<T: Real>(row: &mut [T], scale: T) {
    let max = row_max(row);
    let sum = exp_and_sum(row, max, scale);
    normalise(row, sum);
}

fn masked_row<T: Real>(row: &mut [T], keep: &[u8], scale: T) {
    for (x, &k) in row.iter_mut().zip(keep) {
        if k == 0 {
            *x = T::NEG_INF;
        }
    }
    let max = row_max(row);
    if max == T::NEG_INF {
        // No key to attend to: the row's weights, and so its output, are zeros.
        row.fill(T::ZERO);
        return;
    }
    // Masked entries are −∞: (−∞ − max) · scale is −∞ and its exp is 0.
    let sum = exp_and_sum(row, max, scale);
    normalise(row, sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_two_ulps_of_std_on_its_range() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 * f64::from(i) / 200_000.0;
            let got = f64::from(exp_f32(x as f32));
            let want = (x as f32 as f64).exp();
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 2.5e-7, "relative error {worst}");
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(0.0), 1.0);
    }

    #[test]
    fn fused_softmax_matches_the_plain_formula() {
        let n = 37;
        let data: Vec<f32> = (0..n * 5).map(|i| ((i * 7919) % 101) as f32 / 10.0 - 5.0).collect();
        let mut fused = data.clone();
        let keep: Vec<u8> = (0..n * 5).map(|i| u8::from(i % 3 != 0 && i / n != 2)).collect();
        rows(&mut fused, Some(&keep), n, 0.5);
        for (r, row) in data.chunks(n).enumerate() {
            let kept: Vec<(usize, f64)> = row.iter().enumerate().filter(|(i, _)| keep[r * n + i] != 0).map(|(i, &x)| (i, f64::from(x) * 0.5)).collect();
            let max = kept.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = kept.iter().map(|p| (p.1 - max).exp()).sum();
            for i in 0..n {
                let want = kept.iter().find(|p| p.0 == i).map_or(0.0, |p| (p.1 - max).exp() / sum);
                assert!((f64::from(fused[r * n + i]) - want).abs() < 1e-6, "row {r} col {i}");
            }
        }
    }
}

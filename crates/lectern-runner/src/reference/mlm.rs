//! BERT's masked-language-model corruption, and a judge that checks a student's version by
//! its properties rather than by replaying our random numbers.

use crate::RunnerError;

/// The label of a position the loss ignores (PyTorch's `CrossEntropyLoss` default).
pub const IGNORE_INDEX: i64 = -100;

/// What BERT's pre-training sees: the corrupted `inputs` and the `labels` to predict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlmSample {
    pub inputs: Vec<i64>,
    pub labels: Vec<i64>,
}

/// BERT-style masking of `tokens`: each position is chosen with probability `p`; a chosen
/// position becomes `mask_id` 80% of the time, a token drawn uniformly from
/// `[0, vocab_size)` 10% of the time, and stays as it is the other 10%. `labels` holds the
/// original token at chosen positions and [`IGNORE_INDEX`] elsewhere.
///
/// The draws come from a SplitMix64 stream seeded with `seed`, so a case is reproducible;
/// students are not expected to match it (see [`check_mlm`]).
pub fn mlm_mask(
    tokens: &[i64],
    mask_id: i64,
    vocab_size: i64,
    seed: u64,
    p: f64,
) -> Result<MlmSample, RunnerError> {
    const OP: &str = "mlm-masking";
    check_settings(vocab_size, p).map_err(|(arg, reason)| RunnerError::bad_arg(OP, arg, reason))?;
    let mut rng = SplitMix64(seed);
    let mut inputs = tokens.to_vec();
    let mut labels = vec![IGNORE_INDEX; tokens.len()];
    for (i, &token) in tokens.iter().enumerate() {
        if rng.unit() >= p {
            continue;
        }
        labels[i] = token;
        let r = rng.unit();
        if r < 0.8 {
            inputs[i] = mask_id;
        } else if r < 0.9 {
            // vocab_size > 0 was checked, so the cast and the draw are in range.
            inputs[i] = rng.below(vocab_size.unsigned_abs()) as i64;
        }
    }
    Ok(MlmSample { inputs, labels })
}

/// Judges a student's masking of `tokens` by the properties any correct version has:
///
/// 1. `inputs` and `labels` have as many values as `tokens`;
/// 2. every label is [`IGNORE_INDEX`] or the original token at that position;
/// 3. positions not chosen (label [`IGNORE_INDEX`]) keep their token;
/// 4. chosen positions hold `mask_id` or a token in `[0, vocab_size)`;
/// 5. the number chosen is within 5 binomial standard deviations (plus one) of `n·p`;
/// 6. among chosen positions, the share replaced by `mask_id` is near 0.8 and the share left
///    unchanged near 0.1 (each within 5 standard deviations plus `1/k` for `k` chosen; both
///    expectations include the `0.1/vocab_size` chance that a random token hits `mask_id`
///    or the original).
///
/// 5 standard deviations make a false rejection of a correct student about one in a
/// million per check, while a fixed 15% or a missing random/unchanged branch is caught on
/// inputs of a few thousand tokens. On short inputs the statistical checks pass nearly
/// anything, by design: they cannot tell there.
///
/// Returns a message for the student on the first property that fails.
pub fn check_mlm(
    tokens: &[i64],
    inputs: &[i64],
    labels: &[i64],
    mask_id: i64,
    vocab_size: i64,
    p: f64,
) -> Result<(), String> {
    check_settings(vocab_size, p).map_err(|(arg, reason)| format!("`{arg}` {reason}"))?;
    let n = tokens.len();
    if inputs.len() != n || labels.len() != n {
        return Err(format!(
            "inputs and labels must have as many values as tokens ({n}); got {} and {}",
            inputs.len(),
            labels.len()
        ));
    }
    let (mut chosen, mut masked, mut unchanged) = (0usize, 0usize, 0usize);
    for i in 0..n {
        let (token, input, label) = (tokens[i], inputs[i], labels[i]);
        if label == IGNORE_INDEX {
            if input != token {
                return Err(format!(
                    "position {i} was not chosen (label {IGNORE_INDEX}) but its input changed \
                     from {token} to {input}"
                ));
            }
            continue;
        }
        if label != token {
            return Err(format!(
                "position {i}: label {label} is neither {IGNORE_INDEX} nor the original token {token}"
            ));
        }
        if input != mask_id && !(0..vocab_size).contains(&input) {
            return Err(format!(
                "position {i}: input {input} is neither the mask id {mask_id} nor a token in \
                 [0, {vocab_size})"
            ));
        }
        chosen += 1;
        masked += usize::from(input == mask_id);
        unchanged += usize::from(input == token);
    }

    let (nf, k) = (n as f64, chosen as f64);
    let slack = 5.0 * (nf * p * (1.0 - p)).sqrt() + 1.0;
    if (k - nf * p).abs() > slack {
        return Err(format!(
            "{chosen} of {n} positions were chosen ({:.1}%); about {:.1}% ± {:.1}% were expected",
            100.0 * k / nf.max(1.0),
            100.0 * p,
            100.0 * slack / nf.max(1.0),
        ));
    }
    if chosen > 0 {
        let hit = 0.1 / vocab_size as f64; // chance a random replacement equals a given id
        for (what, count, expected) in [
            ("replaced by the mask id", masked, 0.8 + hit),
            ("left unchanged", unchanged, 0.1 + hit),
        ] {
            let share = count as f64 / k;
            let slack = 5.0 * (expected * (1.0 - expected) / k).sqrt() + 1.0 / k;
            if (share - expected).abs() > slack {
                return Err(format!(
                    "of the {chosen} chosen positions, {:.1}% were {what}; about {:.0}% were \
                     expected (80% mask, 10% random, 10% unchanged)",
                    100.0 * share,
                    100.0 * expected,
                ));
            }
        }
    }
    Ok(())
}

/// `vocab_size` and `p` make sense; on failure, the argument's name and what is wrong.
fn check_settings(vocab_size: i64, p: f64) -> Result<(), (&'static str, String)> {
    if vocab_size <= 0 {
        return Err(("vocab_size", format!("must be positive, got {vocab_size}")));
    }
    if !(0.0..=1.0).contains(&p) {
        return Err(("p", format!("must be a probability in [0, 1], got {p}")));
    }
    Ok(())
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, seedable with any u64, good enough for
/// choosing masked positions, and the same on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)` by Lemire's multiply-shift (bias below 2⁻³² for any vocabulary).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

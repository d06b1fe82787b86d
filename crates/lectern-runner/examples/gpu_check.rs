//! The runner's GPU check, one tool per part of `gpu/check.sh`:
//!
//! ```text
//! gpu_check ops   [--device cpu|cuda] [--dtypes f32,f16,bf16]
//! gpu_check bench [--device cuda] [--shape 8,4096,128] [--dtype bf16] [--iters 20] [--save DIR]
//! gpu_check grade --solution FILE [--device cuda] [--python python3] [--course courses/ai012] [--big]
//! gpu_check venv-name [--course courses/ai012]
//! ```
//!
//! - `ops`: every reference op of the registry on `--device`, in each dtype, against the
//!   same op computed in float64 on the CPU from the *same* (dtype-rounded) inputs, so the
//!   error measured is the computation's, not the inputs' rounding. One table row per op
//!   and dtype: max |Δ|, max |Δ| / max |truth|, and whether every element is within the
//!   harness's default tolerance for that dtype.
//! - `bench`: the candle reference attention (`softmax(q kᵀ/√d) v`, no mask) at one shape
//!   and dtype, timed (median of synchronised calls); `--save` writes q, k, v and the output
//!   as float32 `.npy` (the values are exactly representable in the dtype) for
//!   `gpu/torch_bench.py` to time PyTorch on the same inputs.
//! - `grade`: a PyTorch `attention` solution graded on the GPU: the exercise's cases (from
//!   the course) and a few large bf16/f16 ones, the reference computed with candle on
//!   `--device`, the solution run by `gpu/torch_grade.py` in a subprocess (outside the
//!   sandbox: see `gpu/README.md`), each output judged with the harness's rule and also
//!   measured against float64 truth.
//! - `venv-name`: the folder name `lectern` gives the cached Python environment of a
//!   course's requirements, so that `check.sh` can point it at an existing Python (the GPU
//!   machine has no network for pip).
//!
//! Rows are printed as `ROW|section|item|dtype|result|detail` for `check.sh` to gather
//! into one table; everything else is commentary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use lectern_lesson::model::ArgValue;
use lectern_runner::device::{self, DeviceChoice};
use lectern_runner::reference::{self, InputKind};

type Res<T> = Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("usage: gpu_check ops|bench|grade|venv-name [options] (see the source's header)");
        return ExitCode::from(2);
    };
    let opts = match Opts::parse(rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("gpu_check: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "ops" => ops(&opts),
        "bench" => bench(&opts),
        "grade" => grade(&opts),
        "venv-name" => venv_name(&opts),
        other => Err(format!("unknown command `{other}`")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            // candle's errors may carry a backtrace: the first line says what went wrong.
            eprintln!("gpu_check {command}: {}", e.lines().next().unwrap_or(""));
            ExitCode::from(1)
        }
    }
}

/// `--name value` options, all optional.
struct Opts(BTreeMap<String, String>);

impl Opts {
    fn parse(args: &[String]) -> Res<Self> {
        let mut map = BTreeMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let name = a.strip_prefix("--").ok_or(format!("expected --option, got `{a}`"))?;
            if name == "big" {
                map.insert(name.to_owned(), "true".to_owned());
                continue;
            }
            let value = it.next().ok_or(format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Opts(map))
    }
    fn get<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.0.get(name).map_or(default, String::as_str)
    }
    fn device(&self, default: &str) -> Res<(Device, DeviceChoice)> {
        let choice = DeviceChoice::parse(self.get("device", default)).map_err(|e| e.to_string())?;
        device::select(choice).map_err(|e| e.to_string())
    }
}

fn row(section: &str, item: &str, dtype: &str, result: &str, detail: &str) {
    println!("ROW|{section}|{item}|{dtype}|{result}|{detail}");
}

fn parse_dtype(s: &str) -> Res<DType> {
    match s {
        "f64" => Ok(DType::F64),
        "f32" => Ok(DType::F32),
        "f16" => Ok(DType::F16),
        "bf16" => Ok(DType::BF16),
        other => Err(format!("unknown dtype `{other}` (f64, f32, f16, bf16)")),
    }
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F64 => "f64",
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        DType::U8 => "u8",
        DType::I64 => "i64",
        _ => "other",
    }
}

/// The harness's default tolerances for `d`: a value passes when
/// `|got - expected| <= atol * scale + rtol * |expected|` (scale: max|expected| in half
/// precision, 1 otherwise).
fn harness_tolerance(d: DType) -> (f64, f64) {
    lectern_runner::harness::default_tolerances(d)
}

/// SplitMix64 and Box–Muller, as the harness draws its cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(f64::MIN_POSITIVE), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn candle(e: candle_core::Error) -> String {
    e.to_string()
}

/// `N(0, scale²)` values of `shape`, as f64 on the CPU.
fn normal(rng: &mut Rng, shape: &[usize], scale: f64) -> Res<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.normal() * scale).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).map_err(candle)
}

fn mask(rng: &mut Rng, shape: &[usize]) -> Res<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<u8> = (0..n).map(|_| u8::from(rng.unit() < 0.75)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).map_err(candle)
}

/// Rounds a float tensor to `dtype` and back to f64 (on the CPU): the inputs every
/// computation of a row sees, so that only the computation's error is measured.
fn round_to(t: &Tensor, dtype: DType) -> Res<Tensor> {
    if !t.dtype().is_float() {
        return Ok(t.clone());
    }
    t.to_dtype(dtype).and_then(|t| t.to_dtype(DType::F64)).map_err(candle)
}

fn to_f64_vec(t: &Tensor) -> Res<Vec<f64>> {
    t.to_device(&Device::Cpu)
        .and_then(|t| t.to_dtype(DType::F64))
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f64>())
        .map_err(candle)
}

/// How far `got` is from `truth`.
#[derive(Debug, Clone, Copy)]
struct Error {
    max_abs: f64,
    /// `max_abs / max |truth|`: relative to the output's scale (element-wise relative
    /// errors are meaningless next to values that are nearly 0).
    rel: f64,
    /// Elements outside the harness's tolerance for the dtype.
    outside: usize,
    not_finite: usize,
    n: usize,
}

fn compare(got: &[f64], truth: &[f64], dtype: DType) -> Error {
    let (rtol, atol) = harness_tolerance(dtype);
    let atol = atol * lectern_runner::harness::atol_scale(dtype, truth);
    let mut e = Error { max_abs: 0.0, rel: 0.0, outside: 0, not_finite: 0, n: truth.len() };
    let mut scale = 0.0f64;
    for (g, t) in got.iter().zip(truth) {
        scale = scale.max(t.abs());
        if !g.is_finite() && t.is_finite() {
            e.not_finite += 1;
            continue;
        }
        let d = (g - t).abs();
        e.max_abs = e.max_abs.max(d);
        if d > atol + rtol * t.abs() {
            e.outside += 1;
        }
    }
    e.rel = if scale > 0.0 { e.max_abs / scale } else { e.max_abs };
    e
}

// ---------------------------------------------------------------------------------------
// ops

/// One registry call to check: the inputs (f64 or integer, on the CPU) and arguments.
struct OpCase {
    label: &'static str,
    op: &'static str,
    inputs: BTreeMap<String, Tensor>,
    args: BTreeMap<String, ArgValue>,
}

/// Inputs for every op of the registry. Activations are N(0, 1); weights (names starting
/// with `w`) are N(0, 1/fan_in), as a model initialises them, so that scores stay in the
/// range real layers see (with N(0, 1) weights, logits reach ~60 and bf16's 8-bit mantissa
/// alone moves them by ~0.25).
fn op_cases() -> Res<Vec<OpCase>> {
    let mut rng = Rng(0x006c_6563_7465_726e);
    let mut out = Vec::new();
    let mut case = |label: &'static str,
                    op: &'static str,
                    shapes: &[(&str, &[usize])],
                    args: &[(&str, ArgValue)],
                    rng: &mut Rng|
     -> Res<()> {
        let r = reference::by_name(op).ok_or(format!("no reference `{op}`"))?;
        let mut inputs = BTreeMap::new();
        for (name, shape) in shapes {
            let kind = r.inputs.iter().find(|i| i.name == *name).map(|i| i.kind);
            let t = match kind {
                Some(InputKind::Mask) => mask(rng, shape)?,
                Some(InputKind::TokenIds) => {
                    let n: usize = shape.iter().product();
                    let v: Vec<i64> = (0..n).map(|_| (rng.next() % 1000) as i64).collect();
                    Tensor::from_vec(v, *shape, &Device::Cpu).map_err(candle)?
                }
                _ if name.starts_with('w') => normal(rng, shape, 1.0 / (shape[0] as f64).sqrt())?,
                _ => normal(rng, shape, 1.0)?,
            };
            inputs.insert((*name).to_owned(), t);
        }
        let args = args.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        out.push(OpCase { label, op, inputs, args });
        Ok(())
    };
    let heads = [("n_heads", ArgValue::Int(4))];
    let w = |d: usize| -> [(&'static str, Vec<usize>); 4] {
        [("w_q", vec![d, d]), ("w_k", vec![d, d]), ("w_v", vec![d, d]), ("w_o", vec![d, d])]
    };
    let with_w = |mut v: Vec<(&'static str, Vec<usize>)>, d: usize| {
        v.extend(w(d));
        v
    };
    let borrow = |v: &[(&'static str, Vec<usize>)]| -> Vec<(&'static str, Vec<usize>)> { v.to_vec() };
    macro_rules! shapes {
        ($v:expr) => {
            &$v.iter().map(|(n, s)| (*n, s.as_slice())).collect::<Vec<_>>()
        };
    }
    let a = vec![("q", vec![2, 3, 64, 32]), ("k", vec![2, 3, 80, 32]), ("v", vec![2, 3, 80, 24])];
    case("attention", "attention", shapes!(a), &[], &mut rng)?;
    let mut am = borrow(&a);
    am.push(("mask", vec![2, 1, 64, 80]));
    case("attention causal+mask", "attention", shapes!(am), &[("causal", ArgValue::Bool(true))], &mut rng)?;
    let ca = with_w(vec![("x", vec![2, 64, 64])], 64);
    case("causal-attention", "causal-attention", shapes!(ca), &heads, &mut rng)?;
    let ba = with_w(vec![("x", vec![2, 64, 64]), ("padding_mask", vec![2, 64])], 64);
    case("bidirectional-attention", "bidirectional-attention", shapes!(ba), &heads, &mut rng)?;
    let xa = with_w(vec![("x", vec![2, 32, 64]), ("enc", vec![2, 48, 64]), ("enc_mask", vec![2, 48])], 64);
    case("cross-attention", "cross-attention", shapes!(xa), &heads, &mut rng)?;
    let kv = with_w(vec![("x_t", vec![2, 1, 64]), ("cache_k", vec![2, 4, 31, 16]), ("cache_v", vec![2, 4, 31, 16])], 64);
    case("kv-cache", "kv-cache", shapes!(kv), &heads, &mut rng)?;
    let mem_args = [
        ("n_layers", ArgValue::Int(32)),
        ("n_kv_heads", ArgValue::Int(8)),
        ("head_dim", ArgValue::Int(128)),
        ("seq_len", ArgValue::Int(8192)),
        ("batch", ArgValue::Int(4)),
        ("bytes_per_value", ArgValue::Int(2)),
    ];
    case("kv-cache-memory", "kv-cache-memory", &[], &mem_args, &mut rng)?;
    let mlm_args = [("mask_id", ArgValue::Int(103)), ("vocab_size", ArgValue::Int(1000)), ("seed", ArgValue::Int(7))];
    case("mlm-masking", "mlm-masking", &[("tokens", &[4, 128])], &mlm_args, &mut rng)?;
    let ln = [("x", vec![4, 64, 256]), ("gamma", vec![256]), ("beta", vec![256])];
    case("layer-norm", "layer-norm", shapes!(ln), &[], &mut rng)?;
    case("gelu", "gelu", &[("x", &[4, 64, 256])], &[], &mut rng)?;
    let ff = [("x", vec![2, 64, 128]), ("w1", vec![128, 512]), ("b1", vec![512]), ("w2", vec![512, 128]), ("b2", vec![128])];
    case("feed-forward", "feed-forward", shapes!(ff), &[], &mut rng)?;
    Ok(out)
}

fn run_op(c: &OpCase, dtype: DType, device: &Device) -> Res<BTreeMap<String, Tensor>> {
    let r = reference::by_name(c.op).ok_or("no such op")?;
    let inputs: BTreeMap<String, Tensor> = c
        .inputs
        .iter()
        .map(|(k, t)| {
            let t = if t.dtype().is_float() { t.to_dtype(dtype)? } else { t.clone() };
            Ok((k.clone(), t.to_device(device)?))
        })
        .collect::<candle_core::Result<_>>()
        .map_err(candle)?;
    let out = r.run(&inputs, &c.args, device).map_err(|e| e.to_string())?;
    if device.is_cuda() {
        device.synchronize().map_err(candle)?;
    }
    Ok(out)
}

fn ops(opts: &Opts) -> Res<bool> {
    let (device, used) = opts.device("cuda")?;
    let dtypes: Vec<DType> = opts.get("dtypes", "f32,f16,bf16").split(',').map(parse_dtype).collect::<Res<_>>()?;
    let section = format!("ops on {used} vs cpu f64");
    let mut all_ok = true;
    for c in op_cases()? {
        let float_op = c.inputs.values().any(|t| t.dtype().is_float());
        let list: Vec<DType> = if float_op { dtypes.clone() } else { vec![DType::I64] };
        for &dtype in &list {
            // Truth: the dtype-rounded inputs, computed in f64 on the CPU.
            let rounded = OpCase {
                label: c.label,
                op: c.op,
                inputs: c.inputs.iter().map(|(k, t)| Ok((k.clone(), round_to(t, dtype)?))).collect::<Res<_>>()?,
                args: c.args.clone(),
            };
            let truth = match run_op(&rounded, if float_op { DType::F64 } else { DType::I64 }, &Device::Cpu) {
                Ok(t) => t,
                Err(e) => {
                    row(&section, c.label, dtype_name(dtype), "ERROR", &format!("cpu f64: {e}"));
                    all_ok = false;
                    continue;
                }
            };
            let started = Instant::now();
            let got = match run_op(&rounded, dtype, &device) {
                Ok(g) => g,
                Err(e) => {
                    row(&section, c.label, dtype_name(dtype), "ERROR", &e.replace('\n', " "));
                    all_ok = false;
                    continue;
                }
            };
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let tol = harness_tolerance(dtype);
            let mut worst: Option<Error> = None;
            let mut dtype_ok = true;
            for (name, t) in &truth {
                let g = &got[name];
                if float_op && g.dtype() != dtype {
                    dtype_ok = false;
                }
                let e = compare(&to_f64_vec(g)?, &to_f64_vec(t)?, dtype);
                worst = Some(match worst {
                    Some(w) if w.rel >= e.rel => Error { outside: w.outside + e.outside, not_finite: w.not_finite + e.not_finite, n: w.n + e.n, ..w },
                    Some(w) => Error { outside: w.outside + e.outside, not_finite: w.not_finite + e.not_finite, n: w.n + e.n, ..e },
                    None => e,
                });
            }
            let Some(w) = worst else { continue };
            let ok = w.outside == 0 && w.not_finite == 0 && dtype_ok;
            all_ok &= ok;
            let result = if float_op { format!("{:.1e}", w.rel) } else if ok { "exact".to_owned() } else { "DIFFERS".to_owned() };
            let mut detail = format!(
                "max abs Δ {:.1e}; {} of {} outside harness tol (rtol {:.0e}, atol {:.0e}); {ms:.1} ms",
                w.max_abs, w.outside, w.n, tol.0, tol.1
            );
            if w.not_finite > 0 {
                detail.push_str(&format!("; {} NaN/inf", w.not_finite));
            }
            if !dtype_ok {
                detail.push_str("; output dtype differs from input dtype");
            }
            row(&section, c.label, if float_op { dtype_name(dtype) } else { "int" }, &result, &detail);
        }
    }
    Ok(all_ok)
}

// ---------------------------------------------------------------------------------------
// bench

fn bench(opts: &Opts) -> Res<bool> {
    let (device, used) = opts.device("cuda")?;
    let dtype = parse_dtype(opts.get("dtype", "bf16"))?;
    let shape: Vec<usize> = opts.get("shape", "8,4096,128").split(',').map(|s| s.trim().parse().map_err(|_| format!("bad shape `{s}`"))).collect::<Res<_>>()?;
    let iters: usize = opts.get("iters", "20").parse().map_err(|_| "bad --iters")?;
    let mut rng = Rng(0x0062_656e_6368);
    let draw = |rng: &mut Rng| -> Res<Tensor> { normal(rng, &shape, 1.0)?.to_dtype(dtype).map_err(candle) };
    let (q, k, v) = (draw(&mut rng)?, draw(&mut rng)?, draw(&mut rng)?);
    let (qd, kd, vd) = (q.to_device(&device).map_err(candle)?, k.to_device(&device).map_err(candle)?, v.to_device(&device).map_err(candle)?);
    let call = || -> Res<Tensor> {
        let o = reference::scaled_dot_product_attention(&qd, &kd, &vd, None).map_err(|e| e.to_string())?;
        device.synchronize().map_err(candle)?;
        Ok(o)
    };
    let first = Instant::now();
    let out = call()?;
    let first_ms = first.elapsed().as_secs_f64() * 1e3;
    for _ in 0..2 {
        call()?;
    }
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        call()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let (lq, lk, d) = (shape[shape.len() - 2], shape[shape.len() - 2], shape[shape.len() - 1]);
    let batch: usize = shape[..shape.len() - 2].iter().product();
    let flops = 4.0 * (batch * lq * lk * d) as f64;
    let tflops = flops / median / 1e12;
    let name = dtype_name(dtype);
    let label = format!("candle reference attention {shape:?}");
    row("attention timing", &label, name, &format!("{:.3} ms", median * 1e3), &format!(
        "{tflops:.1} TFLOP/s ({:.1}% of 989 dense bf16 peak); median of {iters}, first call {first_ms:.0} ms; on {used}",
        100.0 * tflops / 989.0
    ));
    if let Some(dir) = opts.0.get("save") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for (n, t) in [("q", &q), ("k", &k), ("v", &v), ("out", &out)] {
            t.to_device(&Device::Cpu).and_then(|t| t.to_dtype(DType::F32)).and_then(|t| t.write_npy(dir.join(format!("{n}.npy")))).map_err(candle)?;
        }
        std::fs::write(dir.join("candle_ms.txt"), format!("{}\n", median * 1e3)).map_err(|e| e.to_string())?;
        eprintln!("saved q, k, v and candle's output to {}", dir.display());
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// grade

struct GradeCase {
    name: String,
    dtype: DType,
    /// Float inputs in f64 (already rounded to `dtype`), masks in u8.
    inputs: BTreeMap<String, Tensor>,
    args: BTreeMap<String, ArgValue>,
}

fn grade_cases(course: &Path, big: bool) -> Res<Vec<GradeCase>> {
    let loaded = lectern_lesson::load_course(course);
    let exercise = loaded.course.exercises.get("attention").ok_or(format!("{} has no `attention` exercise", course.display()))?;
    let r = reference::by_name(&exercise.reference).ok_or("no reference")?;
    let mut cases = Vec::new();
    let mut add = |name: String, dtype: DType, shapes: &[(String, Vec<usize>)], args: BTreeMap<String, ArgValue>, seed: u64| -> Res<()> {
        let mut rng = Rng(seed);
        let mut inputs = BTreeMap::new();
        for (n, shape) in shapes {
            let is_mask = r.inputs.iter().any(|i| i.name == n && i.kind == InputKind::Mask);
            let t = if is_mask { mask(&mut rng, shape)? } else { round_to(&normal(&mut rng, shape, 1.0)?, dtype)? };
            inputs.insert(n.clone(), t);
        }
        cases.push(GradeCase { name, dtype, inputs, args });
        Ok(())
    };
    for c in &exercise.cases {
        let dtype = parse_dtype(&format!("{:?}", c.dtype).to_lowercase())?;
        add(c.name.clone(), dtype, &c.inputs, c.args.clone(), lectern_runner::harness::case_seed(exercise, c))?;
    }
    if big {
        let qkv = |b: &[usize], lq: usize, lk: usize, d: usize| -> Vec<(String, Vec<usize>)> {
            let s = |l: usize| [b, &[l, d]].concat();
            vec![("q".into(), s(lq)), ("k".into(), s(lk)), ("v".into(), s(lk))]
        };
        let causal = BTreeMap::from([("causal".to_owned(), ArgValue::Bool(true))]);
        add("large causal [8, 4096, 128]".into(), DType::BF16, &qkv(&[8], 4096, 4096, 128), causal.clone(), 1)?;
        add("large causal [8, 4096, 128]".into(), DType::F16, &qkv(&[8], 4096, 4096, 128), causal.clone(), 1)?;
        add("large causal [8, 4096, 128]".into(), DType::F32, &qkv(&[8], 4096, 4096, 128), causal, 1)?;
        let mut heads = qkv(&[4, 8], 1024, 1536, 64);
        heads.push(("mask".into(), vec![4, 1, 1, 1536]));
        add("heads + key mask [4, 8, 1024|1536, 64]".into(), DType::BF16, &heads, BTreeMap::new(), 2)?;
        add("heads + key mask [4, 8, 1024|1536, 64]".into(), DType::F16, &heads, BTreeMap::new(), 2)?;
    }
    Ok(cases)
}

fn grade(opts: &Opts) -> Res<bool> {
    let (device, used) = opts.device("cuda")?;
    let solution = PathBuf::from(opts.0.get("solution").ok_or("--solution FILE is required")?);
    let python = opts.get("python", "python3");
    let course = PathBuf::from(opts.get("course", "courses/ai012"));
    let driver = PathBuf::from(opts.get("driver", "crates/lectern-runner/gpu/torch_grade.py"));
    let big = opts.0.contains_key("big");
    let work = std::env::temp_dir().join(format!("lectern-gpu-grade-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let cases = grade_cases(&course, big)?;
    let r = reference::by_name("attention").ok_or("no reference")?;
    let section = format!("torch attention graded (ref on {used})");
    let mut expected = Vec::new();
    let mut manifest = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let dir = work.join(format!("case{i}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // The reference on the device, in the case's dtype; the truth in f64 on the CPU.
        let on_device: BTreeMap<String, Tensor> = c
            .inputs
            .iter()
            .map(|(k, t)| {
                let t = if t.dtype().is_float() { t.to_dtype(c.dtype)? } else { t.clone() };
                Ok((k.clone(), t.to_device(&device)?))
            })
            .collect::<candle_core::Result<_>>()
            .map_err(candle)?;
        let t = Instant::now();
        let reference = r.run(&on_device, &c.args, &device).map_err(|e| e.to_string())?;
        device.synchronize().map_err(candle)?;
        let ref_ms = t.elapsed().as_secs_f64() * 1e3;
        let truth = r.run(&c.inputs, &c.args, &Device::Cpu).map_err(|e| e.to_string())?;
        expected.push((to_f64_vec(&reference["out"])?, to_f64_vec(&truth["out"])?, reference["out"].dims().to_vec(), ref_ms));
        // Inputs for the driver: f32 (exact for f16/bf16 values) or f64, masks as u8.
        let file_dtype = if c.dtype == DType::F64 { DType::F64 } else { DType::F32 };
        for (n, t) in &c.inputs {
            let t = if t.dtype().is_float() { t.to_dtype(file_dtype).map_err(candle)? } else { t.clone() };
            t.write_npy(dir.join(format!("{n}.npy"))).map_err(candle)?;
        }
        let args: serde_json::Map<String, serde_json::Value> = c.args.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect();
        manifest.push(serde_json::json!({ "dir": format!("case{i}"), "name": c.name, "dtype": dtype_name(c.dtype), "inputs": c.inputs.keys().collect::<Vec<_>>(), "args": args }));
    }
    std::fs::write(work.join("cases.json"), serde_json::Value::Array(manifest).to_string()).map_err(|e| e.to_string())?;
    let output = Command::new(python).arg(&driver).arg(&solution).arg(&work).output().map_err(|e| format!("{python}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprint!("{stderr}");
    if !output.status.success() {
        let last = stderr.lines().last().unwrap_or("").to_owned();
        row(&section, "torch driver", "-", "ERROR", &format!("{} exited {:?}: {last}", driver.display(), output.status.code()));
        let _ = std::fs::remove_dir_all(&work);
        return Ok(false);
    }
    // The driver prints one line per case: `CASE i status seconds [message]`.
    let mut results: BTreeMap<usize, (String, String, String)> = BTreeMap::new();
    for line in stdout.lines() {
        let mut f = line.splitn(5, ' ');
        if f.next() != Some("CASE") {
            continue;
        }
        let (Some(i), Some(status), Some(secs)) = (f.next().and_then(|i| i.parse().ok()), f.next(), f.next()) else { continue };
        results.insert(i, (status.to_owned(), secs.to_owned(), f.next().unwrap_or("").to_owned()));
    }
    let mut all = true;
    for (i, c) in cases.iter().enumerate() {
        let (want, truth, dims, ref_ms) = &expected[i];
        let dt = dtype_name(c.dtype);
        let Some((status, secs, message)) = results.get(&i) else {
            row(&section, &c.name, dt, "ERROR", "the driver printed nothing for this case");
            all = false;
            continue;
        };
        if status != "ok" {
            row(&section, &c.name, dt, "FAIL", &format!("{status}: {message}"));
            all = false;
            continue;
        }
        let got = match Tensor::read_npy(work.join(format!("case{i}")).join("out.npy")) {
            Ok(t) => t,
            Err(e) => {
                row(&section, &c.name, dt, "FAIL", &format!("unreadable output: {e}"));
                all = false;
                continue;
            }
        };
        if got.dims() != dims.as_slice() {
            row(&section, &c.name, dt, "FAIL", &format!("shape {:?}, expected {dims:?}", got.dims()));
            all = false;
            continue;
        }
        let g = to_f64_vec(&got)?;
        // The harness's verdict: the student's output against the reference, with the
        // dtype's default tolerance; and both against f64 truth, to size the tolerance.
        let verdict = compare(&g, want, c.dtype);
        let torch_vs_truth = compare(&g, truth, c.dtype);
        let ref_vs_truth = compare(want, truth, c.dtype);
        let pass = verdict.outside == 0 && verdict.not_finite == 0;
        all &= pass;
        row(&section, &c.name, dt, if pass { "PASS" } else { "FAIL" }, &format!(
            "vs ref: max abs Δ {:.1e} ({} outside tol); vs f64: torch {:.1e}, candle {:.1e} (rel to max); torch {secs} s, candle {ref_ms:.1} ms",
            verdict.max_abs, verdict.outside, torch_vs_truth.rel, ref_vs_truth.rel
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(all)
}

// ---------------------------------------------------------------------------------------
// venv-name

fn venv_name(opts: &Opts) -> Res<bool> {
    let course = PathBuf::from(opts.get("course", "courses/ai012"));
    let loaded = lectern_lesson::load_course(&course);
    let requirements = &loaded.course.config.runner.requirements;
    let key = lectern_lesson::stable_hash([requirements.join("\n").as_bytes()]);
    println!("venv-{key:016x}");
    Ok(true)
}

//! How fast and how big copy detection is for one exercise of a large class:
//!
//! 1. `compare_code` over 1,000 generated hand-ins of a ~45-line numpy attention exercise
//!    (best of 3; target: at most 2 s on 2 cores). The hand-ins are made deterministically
//!    (a seeded PRNG): every student picks one of several ways to write each helper,
//!    renames everything, reorders the helpers, drops and inserts statements; one in
//!    twenty copies an earlier student's hand-in and disguises it (new names, comments,
//!    blank lines, a statement or two). So most pairs share a little and a few are copies.
//! 2. Peak memory of `compare_code` with 250, 500 and 1,000 hand-ins, each in a child
//!    process (`VmHWM` of /proc/self/status less the resident size before comparing), to
//!    see that it grows linearly.
//! 3. `compare_text` over 1,000 answers of about 300 characters (English and Chinese,
//!    some copied with other punctuation and case), best of 3.
//!
//! Run: `cargo bench -p lectern-similarity --bench similarity`.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use lectern_similarity::{CodeComparison, CodeConfig, TextConfig, compare_code, compare_text};

const CLASS: usize = 1_000;
const TARGET: Duration = Duration::from_secs(2);

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }
}

// The exercise. `{name}` is renamed per student; `a || b` is a choice within a line; a
// line starting with `?` may be dropped.
const IMPORTS: &[&str] = &[
    "import numpy as np\nimport math",
    "import math\nimport numpy as np",
    "import numpy as np\nfrom math import sqrt",
];
const HELPERS: &[&[&str]] = &[
    // softmax
    &[
        "def {softmax}({x}, axis=-1):
    {m} = np.max({x}, axis=axis, keepdims=True) || {m} = {x}.max(axis=axis, keepdims=True)
    {e} = np.exp({x} - {m})
    return {e} / np.sum({e}, axis=axis, keepdims=True) || return {e} / {e}.sum(axis=axis, keepdims=True)",
        "def {softmax}({x}, axis=-1):
    {x} = {x} - {x}.max(axis=axis, keepdims=True)
    {e} = np.exp({x})
?    {s} = {e}.sum(axis=axis, keepdims=True)
    return {e} / {s} || return {e} / np.sum({e}, axis=axis, keepdims=True)",
        "def {softmax}({x}):
    {e} = np.exp({x} - np.max({x}, axis=-1)[..., None])
    return {e} / np.sum({e}, axis=-1)[..., None] || return {e} / {e}.sum(-1, keepdims=True)",
    ],
    // causal mask
    &[
        "def {make_mask}({n}):
    {m} = np.triu(np.ones(({n}, {n})), k=1)
    return {m}.astype(bool) || return {m} > 0",
        "def {make_mask}({n}):
    {m} = np.zeros(({n}, {n}), dtype=bool)
    for {i} in range({n}):
        for {j} in range({i} + 1, {n}):
            {m}[{i}, {j}] = True
    return {m}",
        "def {make_mask}({n}):
    {m} = np.tril(np.ones(({n}, {n}), dtype=bool))
    return ~{m} || return np.logical_not({m})",
    ],
    // split heads
    &[
        "def {split_heads}({x}, {h}):
    {n}, {dm} = {x}.shape
?    assert {dm} % {h} == 0
    {x} = {x}.reshape({n}, {h}, {dm} // {h})
    return {x}.transpose(1, 0, 2) || return np.transpose({x}, (1, 0, 2))",
        "def {split_heads}({x}, {h}):
    {dh} = {x}.shape[1] // {h}
    return np.stack([{x}[:, {i} * {dh}:({i} + 1) * {dh}] for {i} in range({h})])",
    ],
    // merge heads
    &[
        "def {merge_heads}({x}):
    {h}, {n}, {dh} = {x}.shape
    return {x}.transpose(1, 0, 2).reshape({n}, {h} * {dh})",
        "def {merge_heads}({x}):
    return np.concatenate(list({x}), axis=-1) || return np.concatenate([{o} for {o} in {x}], axis=1)",
    ],
    // attention
    &[
        "def {attention}({q}, {k}, {v}, {mask}=None):
    {d} = {q}.shape[-1]
    {s} = {q} @ {k}.T / np.sqrt({d}) || {s} = np.matmul({q}, {k}.T) / np.sqrt({d})
    if {mask} is not None:
        {s} = np.where({mask}, -1e9, {s})
    {w} = {softmax}({s})
?    {out} = {w} @ {v}
    return {out}, {w}",
        "def {attention}({q}, {k}, {v}, {mask}=None):
    {d} = {k}.shape[1]
    {s} = np.dot({q}, {k}.transpose()) * (1.0 / math.sqrt({d}))
    if {mask} is not None:
        {s}[{mask}] = -np.inf
    {w} = {softmax}({s})
    return np.dot({w}, {v}), {w}",
        "def {attention}({q}, {k}, {v}, {mask}=None):
    {scale} = 1 / np.sqrt({q}.shape[-1]) || {scale} = {q}.shape[-1] ** -0.5
    {s} = ({q} @ {k}.T) * {scale}
?    {s} = {s} + (0 if {mask} is None else np.where({mask}, -1e9, 0.0))
    {w} = {softmax}({s}, axis=-1)
    return {w} @ {v}, {w}",
        "def {attention}({q}, {k}, {v}, {mask}=None):
    {s} = np.einsum('id,jd->ij', {q}, {k}) / np.sqrt({k}.shape[-1])
    if {mask} is not None:
        {s} = np.where({mask}, -np.inf, {s})
    {w} = {softmax}({s})
    {out} = np.einsum('ij,jd->id', {w}, {v})
    return {out}, {w}",
    ],
    // multi-head attention
    &[
        "def {multi_head}({x}, {wq}, {wk}, {wv}, {wo}, {h}, causal=True):
    {q} = {split_heads}({x} @ {wq}, {h})
    {k} = {split_heads}({x} @ {wk}, {h})
    {v} = {split_heads}({x} @ {wv}, {h})
    {mask} = {make_mask}({x}.shape[0]) if causal else None
    {outs} = []
    for {i} in range({h}):
        {o}, _ = {attention}({q}[{i}], {k}[{i}], {v}[{i}], {mask})
        {outs}.append({o})
    {o} = np.stack({outs})
    return {merge_heads}({o}) @ {wo}",
        "def {multi_head}({x}, {wq}, {wk}, {wv}, {wo}, {h}, causal=True):
    {q}, {k}, {v} = ({split_heads}({x} @ {w}, {h}) for {w} in ({wq}, {wk}, {wv}))
    {mask} = {make_mask}(len({x})) if causal else None
    {outs} = [{attention}({q}[{i}], {k}[{i}], {v}[{i}], {mask})[0] for {i} in range({h})]
    return {merge_heads}(np.array({outs})) @ {wo} || return np.matmul({merge_heads}(np.array({outs})), {wo})",
        "def {multi_head}({x}, {wq}, {wk}, {wv}, {wo}, {h}, causal=True):
    {n} = {x}.shape[0]
    {mask} = None
    if causal:
        {mask} = {make_mask}({n})
    {heads} = []
    for {q}, {k}, {v} in zip({split_heads}({x} @ {wq}, {h}), {split_heads}({x} @ {wk}, {h}), {split_heads}({x} @ {wv}, {h})):
        {heads}.append({attention}({q}, {k}, {v}, {mask})[0])
?    {heads} = np.stack({heads}, axis=0)
    {y} = {merge_heads}({heads})
    return {y} @ {wo}",
    ],
];
const MAIN: &[&str] = &[
    "if __name__ == \"__main__\":
    {rng} = np.random.default_rng(0)
    {x} = {rng}.standard_normal((4, 8))
    {ws} = [{rng}.standard_normal((8, 8)) for _ in range(4)]
    {y} = {multi_head}({x}, *{ws}, 2)
    print({y}.shape)",
    "def main():
    np.random.seed(42)
    {x} = np.random.randn(6, 16)
    {wq}, {wk}, {wv}, {wo} = (np.random.randn(16, 16) * 0.1 for _ in range(4))
    {y} = {multi_head}({x}, {wq}, {wk}, {wv}, {wo}, 4, causal=False)
?    assert {y}.shape == {x}.shape
    print({y})

main()",
    "{x} = np.arange(32, dtype=float).reshape(4, 8) / 10
{y} = {multi_head}({x}, np.eye(8), np.eye(8), np.eye(8), np.eye(8), 2)
print(np.round({y}, 3))",
];
const EXTRA: &[&str] = &[
    "print({tmp})",
    "assert {tmp} is not None",
    "{tmp} = {tmp2}",
    "{tmp} = np.asarray({tmp2}, dtype=float)",
    "# check the shapes here",
    "",
    "{tmp} += 0",
    "print('shape', {tmp}.shape, {tmp2})",
];
const NAMES: &[&str] = &[
    "x",
    "m",
    "e",
    "s",
    "n",
    "i",
    "j",
    "q",
    "k",
    "v",
    "d",
    "w",
    "out",
    "mask",
    "h",
    "dm",
    "dh",
    "outs",
    "o",
    "rng",
    "y",
    "wq",
    "wk",
    "wv",
    "wo",
    "ws",
    "scale",
    "heads",
    "tmp",
    "tmp2",
    "softmax",
    "make_mask",
    "split_heads",
    "merge_heads",
    "attention",
    "multi_head",
];
const SYLLABLES: &[&str] = &["ka", "ro", "mi", "te", "su", "val", "arr", "res", "tmp", "my", "new", "lo", "qu", "ze"];

/// One hand-in before renaming: lines with `{name}` placeholders.
fn plan(rng: &mut Rng) -> Vec<String> {
    let mut blocks: Vec<&str> = HELPERS.iter().map(|variants| *rng.pick(variants)).collect();
    rng.shuffle(&mut blocks);
    let mut lines: Vec<String> = Vec::new();
    for (b, block) in std::iter::once(*rng.pick(IMPORTS)).chain(blocks).chain([*rng.pick(MAIN)]).enumerate() {
        if b > 0 {
            lines.extend([String::new(), String::new()]);
        }
        for line in block.lines() {
            let (line, removable) = match line.strip_prefix('?') {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            if removable && rng.chance(0.3) {
                continue;
            }
            let choices: Vec<&str> = line.split(" || ").collect();
            let chosen = *rng.pick(&choices);
            let indent = &line[..line.len() - line.trim_start().len()];
            let chosen = chosen.trim_start();
            if !indent.is_empty() && rng.chance(0.12) {
                lines.push(format!("{indent}{}", rng.pick(EXTRA)));
            }
            lines.push(format!("{indent}{chosen}"));
        }
    }
    lines
}

/// A copy of `plan`, disguised: comments, blank lines and a statement or two added.
fn disguise(plan: &[String], rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::with_capacity(plan.len() + 4);
    for line in plan {
        let indent = &line[..line.len() - line.trim_start().len()];
        if !indent.is_empty() && rng.chance(0.06) {
            out.push(format!("{indent}{}", rng.pick(&["# my version", "", "{tmp} = {tmp2}", "print({tmp})"])));
        }
        out.push(line.clone());
    }
    out
}

/// Renders a plan with fresh names.
fn render(plan: &[String], rng: &mut Rng) -> String {
    let names: HashMap<&str, String> = NAMES
        .iter()
        .map(|&n| {
            let name = match rng.below(3) {
                0 => n.to_string(),
                1 => format!("{}_{}", n, rng.pick(SYLLABLES)),
                _ => format!("{}{}{}", rng.pick(SYLLABLES), rng.pick(SYLLABLES), rng.below(10)),
            };
            (n, name)
        })
        .collect();
    let mut source = String::with_capacity(2_000);
    for line in plan {
        let mut rest = line.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else { break };
            let key = &rest[open + 1..open + close];
            source.push_str(&rest[..open]);
            match names.get(key) {
                Some(name) => source.push_str(name),
                None => source.push_str(&rest[open..=open + close]),
            }
            rest = &rest[open + close + 1..];
        }
        source.push_str(rest);
        source.push('\n');
    }
    source
}

/// `n` hand-ins (the first `n` of one sequence) and the planted copies `(original, copy)`.
fn class(n: usize) -> (Vec<String>, Vec<(usize, usize)>) {
    let mut rng = Rng(2024);
    let mut plans: Vec<Vec<String>> = Vec::with_capacity(n);
    let mut copies = Vec::new();
    let mut sources = Vec::with_capacity(n);
    for i in 0..n {
        let p = if i >= 10 && rng.chance(0.05) {
            let from = rng.below(i);
            copies.push((from, i));
            disguise(&plans[from], &mut rng)
        } else {
            plan(&mut rng)
        };
        sources.push(render(&p, &mut rng));
        plans.push(p);
    }
    (sources, copies)
}

const STARTER: &str = "import numpy as np\n\ndef softmax(x, axis=-1):\n    raise NotImplementedError\n";

/// The best wall time of three runs, the CPU time (all threads) of that run, and a result.
fn best_of_3<T>(mut f: impl FnMut() -> T) -> (Duration, f64, T) {
    let mut best = (Duration::MAX, 0.0);
    let mut out = None;
    for _ in 0..3 {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let r = f();
        let took = t.elapsed();
        if took < best.0 {
            best = (took, cpu_seconds() - cpu);
        }
        out = Some(r);
    }
    (best.0, best.1, out.expect("ran three times"))
}

/// User plus system CPU time of this process, all threads, in seconds (/proc/self/stat,
/// in USER_HZ = 100 ticks per second). On a busy machine wall time exceeds CPU time / cores.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<u64> =
                s.rsplit_once(')')?.1.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
            Some(fields.iter().sum::<u64>() as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn code_summary(c: &CodeComparison) -> (usize, usize, usize) {
    let fragments = c.pairs.iter().map(|p| p.fragments.len()).sum();
    (c.fingerprints.iter().sum(), c.pairs.len(), fragments)
}

/// In a child process: compare `n` hand-ins once with the pair floor `floor` and print one
/// line of sizes.
fn child(n: usize, floor: f64) {
    let (sources, _) = class(n);
    let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    let config = CodeConfig { min_over_both: floor, ..CodeConfig::default() };
    let before = status_kib("VmRSS:");
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let c = compare_code(Some(STARTER), &refs, &config).expect("compares");
    let (took, cpu) = (start.elapsed(), cpu_seconds() - cpu);
    let hwm = status_kib("VmHWM:");
    let (prints, pairs, fragments) = code_summary(&c);
    println!(
        "{n:>6} {:>9} {prints:>13} {:>16} {pairs:>11} {fragments:>10} {:>9.1} {:>11.1} {:>7.3} {cpu:>6.2}",
        c.tokens.iter().sum::<usize>(),
        c.candidate_pairs,
        before as f64 / 1024.0,
        hwm.saturating_sub(before) as f64 / 1024.0,
        took.as_secs_f64(),
    );
}

/// Runs [`child`] for 250, 500 and 1,000 hand-ins, each in a fresh process.
fn memory_table(floor: f64) {
    println!(
        "{:>6} {:>9} {:>13} {:>16} {:>11} {:>10} {:>9} {:>11} {:>7} {:>6}",
        "n",
        "tokens",
        "fingerprints",
        "candidate pairs",
        "kept pairs",
        "fragments",
        "RSS MiB",
        "growth MiB",
        "wall s",
        "CPU s"
    );
    let exe = std::env::current_exe().expect("own path");
    for n in [250, 500, 1_000] {
        let out =
            Command::new(&exe).args(["--child", &n.to_string(), &floor.to_string()]).output().expect("child runs");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            println!("  child failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

const EN_SUBJECTS: &[&str] = &[
    "The encoder",
    "A decoder-only model",
    "Self-attention",
    "The KV cache",
    "Cross-attention",
    "Multi-head attention",
    "The softmax",
    "Positional encoding",
    "The causal mask",
    "Each head",
    "The feed-forward layer",
    "Layer normalisation",
];
const EN_VERBS: &[&str] = &[
    "has to process",
    "reuses",
    "scales quadratically with",
    "attends over",
    "is cheap for",
    "keeps",
    "masks",
    "normalises",
    "looks at",
    "mixes information from",
    "cannot see",
    "stores",
];
const EN_OBJECTS: &[&str] = &[
    "the entire input",
    "every previous token",
    "long contexts",
    "the prompt and the output",
    "each head separately",
    "the scores before the softmax",
    "future positions",
    "the keys and values",
    "a single stack",
    "the whole sequence",
];
const EN_TAILS: &[&str] = &[
    "at every step",
    "during training",
    "in practice",
    "which is why it is slow",
    "so memory grows with length",
    "",
    "and that is the main cost",
    "unlike a recurrent network",
];
const ZH_SUBJECTS: &[&str] =
    &["編碼器", "解碼器", "自注意力", "鍵值快取", "交叉注意力", "多頭注意力", "因果遮罩", "每個注意力頭"];
const ZH_VERBS: &[&str] = &["必須處理", "重複使用", "隨長度平方增長於", "關注", "無法看到", "儲存", "混合"];
const ZH_OBJECTS: &[&str] =
    &["整個長輸入", "之前的每個詞元", "長上下文", "提示與輸出", "未來的位置", "所有的鍵與值", "整個序列"];
const ZH_TAILS: &[&str] = &["在每一步", "在訓練時", "所以成本很高", "因此記憶體隨長度增加", "這就是主要的開銷", ""];

fn answer(rng: &mut Rng) -> String {
    let chinese = rng.chance(0.3);
    let mut out = String::new();
    while out.chars().count() < if chinese { 120 } else { 300 } {
        if chinese {
            out.push_str(&format!(
                "{}{}{}{}。",
                rng.pick(ZH_SUBJECTS),
                rng.pick(ZH_VERBS),
                rng.pick(ZH_OBJECTS),
                rng.pick(ZH_TAILS)
            ));
        } else {
            let tail = rng.pick(EN_TAILS);
            out.push_str(&format!(
                "{} {} {}{}{}. ",
                rng.pick(EN_SUBJECTS),
                rng.pick(EN_VERBS),
                rng.pick(EN_OBJECTS),
                if tail.is_empty() { "" } else { " " },
                tail
            ));
        }
    }
    out
}

fn answers(n: usize) -> (Vec<String>, Vec<(usize, usize)>) {
    let mut rng = Rng(7);
    let mut out: Vec<String> = Vec::with_capacity(n);
    let mut copies = Vec::new();
    for i in 0..n {
        if i >= 10 && rng.chance(0.05) {
            let from = rng.below(i);
            copies.push((from, i));
            let copy: String = out[from]
                .chars()
                .map(|c| match c {
                    '.' => ';',
                    '。' => ',',
                    c if rng.chance(0.1) => c.to_ascii_uppercase(),
                    c => c,
                })
                .collect();
            out.push(copy);
        } else {
            out.push(answer(&mut rng));
        }
    }
    (out, copies)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let n = args.get(at + 1).and_then(|n| n.parse().ok()).expect("--child N FLOOR");
        let floor = args.get(at + 2).and_then(|f| f.parse().ok()).expect("--child N FLOOR");
        child(n, floor);
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "lectern-similarity benchmark ({cores} cores; wall times suffer if other work shares them, CPU times do not)\n"
    );

    // 1. Code.
    let (sources, copies) = class(CLASS);
    let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    let lines: usize = sources.iter().map(|s| s.lines().count()).sum();
    let config = CodeConfig::default();
    let (took, cpu, c) = best_of_3(|| compare_code(Some(STARTER), &refs, &config).expect("compares"));
    let (prints, pairs, fragments) = code_summary(&c);
    let strong: std::collections::HashSet<(usize, usize)> =
        c.pairs.iter().filter(|p| p.over_both >= 0.5).map(|p| (p.a, p.b)).collect();
    let found = copies.iter().filter(|&&(a, b)| strong.contains(&(a.min(b), a.max(b)))).count();
    let all_pairs = CLASS * (CLASS - 1) / 2;
    println!(
        "code: {CLASS} hand-ins, {:.1} lines and {} tokens each on average; default CodeConfig {config:?}",
        lines as f64 / CLASS as f64,
        c.tokens.iter().sum::<usize>() / CLASS
    );
    println!(
        "  compare_code, best of 3: {:.3} s wall, {cpu:.2} s CPU (target <= {} s: {})",
        took.as_secs_f64(),
        TARGET.as_secs(),
        if took <= TARGET { "met" } else { "MISSED" }
    );
    println!(
        "  fingerprints kept: {prints} ({} per hand-in); ignored: {} in the starter, {} common to > half the class",
        prints / CLASS,
        c.ignored_starter,
        c.ignored_common
    );
    println!(
        "  pairs sharing a fingerprint: {} of {all_pairs} ({:.0}%); kept (over_both >= {}): {pairs}, with {fragments} fragments",
        c.candidate_pairs,
        100.0 * c.candidate_pairs as f64 / all_pairs as f64,
        config.min_over_both
    );
    let histogram: Vec<String> = [0.3, 0.5, 0.7, 0.9, 1.0]
        .windows(2)
        .map(|w| {
            let count = c.pairs.iter().filter(|p| p.over_both >= w[0] && p.over_both < w[1]).count();
            format!("[{:.1}, {:.1}): {count}", w[0], w[1])
        })
        .chain([format!("1.0: {}", c.pairs.iter().filter(|p| p.over_both >= 1.0).count())])
        .collect();
    println!("  over_both of kept pairs: {}", histogram.join(", "));
    println!("  planted copies found at over_both >= 0.5: {found} of {}", copies.len());
    let every = CodeConfig { min_over_both: 0.0, ..CodeConfig::default() };
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let all = compare_code(Some(STARTER), &refs, &every).expect("compares");
    let (took, cpu) = (start.elapsed(), cpu_seconds() - cpu);
    let (_, pairs, fragments) = code_summary(&all);
    drop(all);
    println!(
        "  stress, every pair kept (min_over_both = 0), one run: {:.3} s wall, {cpu:.2} s CPU, {pairs} pairs, {fragments} fragments\n",
        took.as_secs_f64()
    );

    // 2. Memory, in child processes.
    println!("memory (each a fresh process; growth = VmHWM after compare_code - VmRSS before), default floor:");
    memory_table(config.min_over_both);
    println!("the same with min_over_both = 0.9 (about only the copies kept: the index and working memory alone):");
    memory_table(0.9);
    println!();

    // 3. Text.
    let (texts, planted) = answers(CLASS);
    let trefs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    let (took, cpu, t) = best_of_3(|| compare_text(&trefs, &TextConfig::default()).expect("compares"));
    let kept: std::collections::HashSet<(usize, usize)> = t.pairs.iter().map(|p| (p.a, p.b)).collect();
    let found = planted.iter().filter(|&&(a, b)| kept.contains(&(a.min(b), a.max(b)))).count();
    println!("text: {CLASS} answers, {} characters each on average (30% Chinese)", chars / CLASS);
    println!("  compare_text, best of 3: {:.3} s wall, {cpu:.2} s CPU", took.as_secs_f64());
    println!(
        "  candidate pairs from banding: {}; kept (jaccard >= 0.5): {}; skipped as short: {}; planted copies found: {found} of {}",
        t.candidates,
        t.pairs.len(),
        t.skipped.len(),
        planted.len()
    );
}

//! The directive scanner follows CommonMark's block structure: generated lessons wrap
//! directives in lists, blockquotes, fences and HTML comment blocks, and the directives
//! found must be exactly the ones written outside code and comments, in order.

use lectern_lesson::directive::{scan, Content, Problem};

/// xorshift64*: a seeded generator, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn ids(content: &[Content<'_>], out: &mut Vec<String>) {
    for c in content {
        if let Content::Node(node) = c {
            out.push(format!("{} {}", node.name, node.id.map_or("", |(id, _)| id)));
            ids(&node.content, out);
        }
    }
}

/// Pieces that hide a directive-looking line (it must never be found), each a function
/// of a counter so that every hidden line is distinct.
fn hiding(kind: usize, n: usize) -> String {
    match kind {
        // A fence opened on a list item's line, with a comment marker in it, then a
        // fence at column 0 (a scanner blind to the first pairs them wrongly).
        0 => format!("- ```bash\n  pip install numpy <!--\n  ```\n\n```\n::: quiz hidden{n}\n```\n\n"),
        // A fence in a blockquote.
        1 => format!("> ```text\n> ::: quiz hidden{n}\n> <!--\n> ```\n\n"),
        // A fence holding a directive line at column 0 and a comment opener.
        2 => format!("```markdown\n::: quiz hidden{n}\n<!-- not a comment here\n:::\n```\n\n"),
        // A longer fence holding a shorter one.
        3 => format!("````\n```\n::: quiz hidden{n}\n```\n````\n\n"),
        // A tilde fence.
        4 => format!("~~~\n::: quiz hidden{n}\n~~~\n\n"),
        // An HTML comment block.
        5 => format!("<!--\n::: quiz hidden{n}\n:::\n-->\n\n"),
        // A fence inside an ordered list item, closed on its own line.
        6 => format!("1. Install:\n\n   ```\n   ::: quiz hidden{n}\n   ```\n\n"),
        // Indented code.
        _ => format!("Text.\n\n    ::: quiz hidden{n}\n    <!--\n\nMore text.\n\n"),
    }
}

/// Pieces that leave the next directive visible.
fn harmless(kind: usize) -> &'static str {
    match kind {
        0 => "- ```bash\n  pip install numpy\n  ```\n\n",
        1 => "> ```\n> <!--\n> ```\n\n",
        2 => "Write `<!--` to start a comment.\n\n",
        3 => "```python\nx = 1  # <!--\n```\n\n",
        4 => "<!-- a comment -->\n\n",
        _ => "* item\n\n  > quote with ``` inside\n\n",
    }
}

#[test]
fn directives_are_exactly_those_outside_code_and_comments() {
    for seed in 1..=400u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut text = String::new();
        let mut want = Vec::new();
        let mut hidden = 0;
        for n in 0..rng.below(8) + 1 {
            for _ in 0..rng.below(3) {
                if rng.below(2) == 0 {
                    hidden += 1;
                    text.push_str(&hiding(rng.below(8), hidden));
                } else {
                    text.push_str(harmless(rng.below(6)));
                }
            }
            // A real directive, sometimes with hiding pieces inside it.
            text.push_str(&format!("::: quiz q{n}\nQuestion {n}?\n\n"));
            want.push(format!("quiz q{n}"));
            if rng.below(2) == 0 {
                hidden += 1;
                text.push_str(&hiding(rng.below(8), hidden));
            }
            text.push_str("- [x] Yes\n- [ ] No\n:::\n\n");
        }
        let (tree, problems) = scan(&text, 0);
        let mut got = Vec::new();
        ids(&tree, &mut got);
        assert_eq!(got, want, "seed {seed}:\n{text}");
        assert!(problems.is_empty(), "seed {seed}: {problems:?}\n{text}");
    }
}

#[test]
fn a_fence_the_file_never_closes_is_reported_once() {
    let text = "Intro.\n\n```python\nx = 1\n::: quiz q1\n:::\n";
    let (tree, problems) = scan(text, 0);
    let mut got = Vec::new();
    ids(&tree, &mut got);
    assert!(got.is_empty(), "{got:?}");
    assert!(matches!(problems.as_slice(), [Problem::UnclosedFence(span)] if &text[span.start..span.end] == "```python"), "{problems:?}");
    // A fence closed by the end of its list item is CommonMark, not a problem.
    let (_, problems) = scan("- ```bash\n  pip install numpy\n\n::: quiz q1\n:::\n", 0);
    assert!(problems.is_empty(), "{problems:?}");
}

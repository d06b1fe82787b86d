//! How answers and accepted phrases are compared: Unicode NFKC (full-width and
//! half-width forms become one), case folded, trimmed, runs of white space as one space.

use unicode_normalization::UnicodeNormalization;

/// The form in which answers and phrases are compared.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn full_width_and_case_and_spaces_fold_together() {
        assert_eq!(normalize("  Decoder-Only "), "decoder-only");
        assert_eq!(normalize("ｄｅｃｏｄｅｒ－ｏｎｌｙ"), "decoder-only");
        assert_eq!(normalize("KV\tcache\n\n grows"), "kv cache grows");
        assert_eq!(normalize("僅解碼器"), "僅解碼器");
        assert_eq!(normalize("ＫＶ　Ｃａｃｈｅ"), "kv cache");
        assert_eq!(normalize(""), "");
    }
}

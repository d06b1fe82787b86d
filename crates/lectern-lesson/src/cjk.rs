//! Which characters are Chinese, Japanese or Korean: one classification for every part
//! of Lectern that treats CJK text differently (words in the rubric's negation scope,
//! emphasis next to CJK punctuation, formulas that hold CJK text).

/// A letter of CJK text: ideographs (all extensions), radicals, kana, bopomofo, Hangul.
pub fn is_letter(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF // Hangul Jamo
        | 0x2E80..=0x2FDF // CJK radicals, Kangxi radicals
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3100..=0x318F // Bopomofo, Hangul compatibility Jamo
        | 0x31A0..=0x31FF // Bopomofo extended, CJK strokes, Katakana extensions
        | 0x3200..=0x4DBF // enclosed CJK, compatibility, extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xA960..=0xA97F // Hangul Jamo extended A
        | 0xAC00..=0xD7FF // Hangul syllables, Jamo extended B
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0x20000..=0x3FFFF // extensions B and on
    )
}

/// CJK punctuation: the CJK symbols and punctuation block, the CJK compatibility forms,
/// and the full-width forms of ASCII punctuation (not of letters and digits).
pub fn is_punctuation(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFE30..=0xFE4F | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_punctuation() {
        for c in ['自', '注', 'カ', 'ㄅ', '한', '𠀀'] {
            assert!(is_letter(c) && !is_punctuation(c), "{c}");
        }
        for c in ['。', '「', '」', '，', '！', '（'] {
            assert!(is_punctuation(c) && !is_letter(c), "{c}");
        }
        for c in ['a', '1', '.', '“', 'Ａ', '１'] {
            assert!(!is_letter(c) && !is_punctuation(c), "{c}");
        }
    }
}

//! Emphasis next to CJK punctuation, as Chinese, Japanese and Korean writers expect.
//!
//! CommonMark's flanking rules need a space or punctuation on the outer side of a
//! delimiter that touches punctuation on its inner side, so `**「自注意力」**機制` and
//! `**縮放不可省略。**否則` stay literal asterisks: CJK text has no spaces. The
//! CJK-friendly amendment to CommonMark (markdown-it's `markdown-it-cjk-friendly`)
//! relaxes the rule next to CJK characters; pulldown-cmark does not implement it.
//!
//! [`prepare`] gets the same result from CommonMark as it is: before parsing, a `*` or
//! `**` run standing between CJK punctuation on its inner side and a CJK character on
//! its outer side trades places with that punctuation (`**「自注意力」**機制` →
//! `「**自注意力**」機制`, `**縮放不可省略。**否則` → `**縮放不可省略**。否則`). The
//! bold then covers the words and not the brackets or the full stop, which reads the
//! same. Only text that CommonMark leaves as text is touched (never code, links'
//! destinations or HTML), the length of the text does not change, and text without CJK
//! punctuation next to an asterisk is returned as it is.

use std::borrow::Cow;

use pulldown_cmark::{Event, Parser};

use lectern_lesson::cjk::is_letter as is_cjk_letter;

/// Whether `c` is CJK punctuation ([`lectern_lesson::cjk::is_punctuation`]) or one of the
/// marks CJK text uses as its own (curly quotes, the ellipsis, the em dash, the middle dot).
fn is_cjk_punctuation(c: char) -> bool {
    lectern_lesson::cjk::is_punctuation(c) || matches!(c, '“' | '”' | '‘' | '’' | '…' | '—' | '·')
}

/// Whether `c` opens a CJK bracket or quotation (`「`, `『`, `（`, `《`, `“`, …).
fn opens(c: char) -> bool {
    matches!(c, '「' | '『' | '（' | '《' | '〈' | '【' | '〔' | '〖' | '〘' | '〚' | '“' | '‘' | '［' | '｛' | '〝')
}

/// The Markdown with asterisk runs moved across CJK punctuation where CommonMark would
/// otherwise leave them literal (see the module's description).
pub fn prepare(md: &str) -> Cow<'_, str> {
    if !md.contains('*') || !md.chars().any(is_cjk_punctuation) {
        return Cow::Borrowed(md);
    }
    // What must not change: code, math, HTML, links (destinations and all), footnote
    // references. Everything else is text or its markup.
    use pulldown_cmark::Tag;
    let mut protected: Vec<std::ops::Range<usize>> = Vec::new();
    for (event, range) in Parser::new_ext(md, lectern_lesson::markdown::options()).into_offset_iter() {
        match event {
            Event::Code(_) | Event::InlineMath(_) | Event::DisplayMath(_) | Event::Html(_) | Event::InlineHtml(_) | Event::FootnoteReference(_) => protected.push(range),
            Event::Start(Tag::CodeBlock(_) | Tag::HtmlBlock | Tag::Link { .. } | Tag::Image { .. } | Tag::MetadataBlock(_)) => protected.push(range),
            _ => {}
        }
    }
    protected.sort_by_key(|r| r.start);
    // The text between protected ranges, one run at a time.
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    let mut at = 0;
    for r in &protected {
        if r.start > at {
            runs.push(at..r.start);
        }
        at = at.max(r.end);
    }
    if at < md.len() {
        runs.push(at..md.len());
    }
    let mut changed = false;
    let mut copied = 0;
    let mut result = String::with_capacity(md.len());
    let mut out: Vec<char> = Vec::new();
    for range in runs {
        let text = &md[range.clone()];
        if !text.contains('*') {
            continue;
        }
        out.clear();
        out.extend(text.chars());
        let before_text = md[..range.start].chars().next_back();
        let after_text = md[range.end..].chars().next();
        let mut i = 0;
        while i < out.len() {
            if out[i] != '*' || (i > 0 && out[i - 1] == '\\') {
                i += 1;
                continue;
            }
            let len = out[i..].iter().take_while(|c| **c == '*').count();
            let (start, end) = (i, i + len);
            let prev = if start > 0 { Some(out[start - 1]) } else { before_text };
            let next = out.get(end).copied().or(after_text);
            let next2 = out.get(end + 1).copied();
            let prev2 = if start > 1 { Some(out[start - 2]) } else { None };
            let outer_ok = |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || is_cjk_letter(c) || is_cjk_punctuation(c));
            if len <= 2 {
                if next.is_some_and(opens) && end < out.len() && outer_ok(prev) && next2.is_some_and(|c| !c.is_whitespace() && c != '*' && !is_cjk_punctuation(c)) {
                    // An opener before CJK punctuation: `**「自` → `「**自`.
                    let p = out.remove(end);
                    out.insert(start, p);
                    changed = true;
                    // The run now ends one later; go on after it.
                    i = end + 1;
                    continue;
                } else if prev.is_some_and(|c| is_cjk_punctuation(c) && !opens(c)) && start > 0 && outer_ok(next) && next.is_some() && prev2.is_some_and(|c| !c.is_whitespace() && c != '*' && !is_cjk_punctuation(c)) {
                    // A closer after CJK punctuation: `力」**機` → `力**」機`.
                    let p = out.remove(start - 1);
                    out.insert(end - 1, p);
                    changed = true;
                }
            }
            i = end;
        }
        result.push_str(&md[copied..range.start]);
        result.extend(out.iter());
        copied = range.end;
    }
    if !changed {
        return Cow::Borrowed(md);
    }
    result.push_str(&md[copied..]);
    Cow::Owned(result)
}

#[cfg(test)]
mod tests {
    fn html(md: &str) -> String {
        crate::render::markdown(md)
    }

    #[test]
    fn bold_around_cjk_punctuation_is_bold() {
        assert_eq!(html("**「自注意力」**機制"), "<p>「<strong>自注意力</strong>」機制</p>\n");
        assert_eq!(html("**縮放不可省略。**否則"), "<p><strong>縮放不可省略</strong>。否則</p>\n");
        assert_eq!(html("這是*「強調」*的字"), "<p>這是「<em>強調</em>」的字</p>\n");
        assert_eq!(html("前文**「甲」**與**「乙」**後文"), "<p>前文「<strong>甲</strong>」與「<strong>乙</strong>」後文</p>\n");
        assert_eq!(html("**自注意力**機制與**縮放不可省略。**否則會溢位。"), "<p><strong>自注意力</strong>機制與<strong>縮放不可省略</strong>。否則會溢位。</p>\n");
        // What CommonMark already makes emphasis stays as it is.
        assert_eq!(html("**自注意力**機制"), "<p><strong>自注意力</strong>機制</p>\n");
        assert_eq!(html("「**自注意力**」機制"), "<p>「<strong>自注意力</strong>」機制</p>\n");
        // Latin text keeps CommonMark's rules exactly.
        assert_eq!(html("a**\"b\"**c"), "<p>a**\"b\"**c</p>\n");
        assert_eq!(html("2 * 3 * 4"), "<p>2 * 3 * 4</p>\n");
        // Never inside code, nor escaped asterisks.
        assert_eq!(html("`**「甲」**乙`"), "<p><code>**「甲」**乙</code></p>\n");
        assert_eq!(html("\\*\\*「甲」\\*\\*乙"), "<p>**「甲」**乙</p>\n");
    }
}

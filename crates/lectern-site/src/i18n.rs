//! The site's interface strings, per language. Content is the author's; every word the
//! site itself says (Question, Step, Run, Correct, …) comes from this table.

use std::collections::BTreeMap;

/// Keys and their text in English and in Traditional Chinese.
const STRINGS: &[(&str, &str, &str)] = &[
    ("lesson", "Lesson {n}", "第 {n} 課"),
    ("lessons", "Lessons", "課程單元"),
    ("question", "Question", "問題"),
    ("step", "Step", "步驟"),
    ("challenge", "Challenge", "挑戰"),
    ("solution", "Solution", "解答"),
    ("show_solution", "Show solution", "顯示解答"),
    ("hide_solution", "Hide solution", "隱藏解答"),
    ("your_answer", "Your answer", "你的答案"),
    ("check", "Check", "檢查"),
    ("correct", "Correct", "正確"),
    ("incorrect", "Not quite", "再想想"),
    ("partly_correct", "Partly correct", "部分正確"),
    ("unreadable", "Not a number Lectern can read: write it as 1000, 1,000, 1 000, 1.5 or 1.5e3, then the unit if any", "無法讀成數字:請寫成 1000、1,000、1 000、1.5 或 1.5e3,需要時再加單位"),
    ("wrong_unit", "Not the unit this question asks for", "不是本題要求的單位"),
    ("explanation", "Explanation", "說明"),
    ("saved", "Saved in this browser", "已儲存在此瀏覽器"),
    ("run", "Run", "執行"),
    ("terminal", "Terminal", "終端機"),
    ("ready", "Ready. Click Run to execute.", "就緒。按「執行」開始。"),
    ("no_output", "This build has no captured output for this file.", "此版本沒有這個檔案的執行輸出。"),
    ("running", "Running…", "執行中…"),
    ("exercise", "Exercise", "練習"),
    ("starter", "Starter code", "起始程式碼"),
    ("visible_cases", "Visible cases (what lectern test checks)", "公開測資(lectern test 會檢查)"),
    ("points", "points", "分"),
    ("download_answers", "Download answers", "下載作答"),
    ("student_id", "Student ID", "學號"),
    ("exam_notice", "Exam: answers are not checked here. Download your answers and hand them in.", "考試模式:此處不批改答案。請下載作答檔並繳交。"),
    ("time_on_lesson", "Time on this lesson", "本課學習時間"),
    ("previous", "Previous", "上一課"),
    ("next", "Next", "下一課"),
    ("contents", "Contents", "目錄"),
    ("note", "Note", "注意"),
    ("tip", "Tip", "提示"),
    ("important", "Important", "重要"),
    ("warning", "Warning", "警告"),
    ("caution", "Caution", "小心"),
    ("numeric_answer", "Enter a number", "請輸入數字"),
    ("text_answer", "Type your answer", "請輸入答案"),
    ("pick_one", "Choose one", "請選一項"),
    ("pick_many", "Choose all that apply", "請選出所有正確項"),
    ("search", "Search this course", "搜尋本課程"),
    ("search_none", "No page matches.", "沒有相符的頁面。"),
    ("search_found", "{n} pages match.", "找到 {n} 個頁面。"),
    ("search_offline", "Search needs the site served over HTTP (lectern serve, or any web server); browsers do not let pages opened from files load its index.", "搜尋需要以 HTTP 提供網站(lectern serve 或任何網頁伺服器);瀏覽器不允許從檔案開啟的頁面載入搜尋索引。"),
    ("search_failed", "Search is not available here.", "此處無法使用搜尋。"),
];

/// The languages the interface speaks.
pub const LANGUAGES: [&str; 2] = ["en", "zh-Hant"];

/// The interface strings for a content language: `zh-Hant` (and `zh-TW`, `zh-HK`) get
/// Traditional Chinese; everything else English.
pub fn strings(language: &str) -> BTreeMap<&'static str, &'static str> {
    let chinese = matches!(language, "zh-Hant" | "zh-TW" | "zh-HK" | "zh-MO") || language.starts_with("zh-Hant");
    STRINGS.iter().map(|(key, en, zh)| (*key, if chinese { *zh } else { *en })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_and_is_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for (key, en, zh) in STRINGS {
            assert!(seen.insert(*key), "duplicate key {key}");
            assert!(!en.is_empty() && !zh.is_empty(), "{key}");
        }
        assert_eq!(strings("zh-Hant")["run"], "執行");
        assert_eq!(strings("en")["run"], "Run");
        assert_eq!(strings("fr")["run"], "Run");
    }
}

//! The course site's search index, made at build time with Pagefind.
//!
//! In: the HTML pages of a built site, by their path in the site. Out: the files of a
//! Pagefind bundle (its browser client, the WASM search and the index chunks), to be
//! added to the site under [`BUNDLE_DIR`]. Searching happens in the reader's browser;
//! nothing runs on a server.
//!
//! It knows HTML only. It must never know the course model, the templates or the answer
//! key: which parts of a page are read (the [`Options::root_selector`]) and which are
//! never indexed (the [`Options::exclude`] selectors, such as solutions) are the
//! caller's to say. Chinese and Japanese pages (by their `<html lang>`) are segmented
//! into words by Pagefind's `extended` build (ICU's dictionary segmenter).

use std::fmt;

/// The folder of the site that holds the bundle; the pages' script loads
/// `pagefind/pagefind.js` from there.
pub const BUNDLE_DIR: &str = "pagefind";

/// What to index in each page.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// CSS selector of the element whose text is indexed (for example `main`); the rest
    /// of the page (headers, navigation, footers) is not.
    pub root_selector: &'a str,
    /// CSS selectors of elements never indexed, nor any of their descendants.
    pub exclude: &'a [&'a str],
}

/// Why no index could be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum SearchError {
    /// Pagefind refused the options or a page, or failed to build the index.
    Index { page: Option<String>, message: String },
    /// The runtime Pagefind's API needs could not be started.
    Runtime(String),
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::Index { page: Some(page), message } => write!(f, "search index: {page}: {message}"),
            SearchError::Index { page: None, message } => write!(f, "search index: {message}"),
            SearchError::Runtime(message) => write!(f, "search index: could not start its runtime: {message}"),
        }
    }
}

impl std::error::Error for SearchError {}

/// Indexes `pages` (path in the site, `/`-separated and relative, → the page's HTML)
/// and returns the bundle's files as (path in the site, bytes), every path under
/// [`BUNDLE_DIR`].
///
/// Each page's URL in the index is its path as given, relative, so that results link
/// correctly wherever the site is published as long as the pages searched from sit at
/// the site's top (as Lectern's do). The output depends only on the pages and options:
/// the same site gives the same bundle, byte for byte.
///
/// # Errors
/// [`SearchError::Index`] when Pagefind rejects the options or a page;
/// [`SearchError::Runtime`] when its async runtime cannot start.
pub fn index<'p>(pages: impl IntoIterator<Item = (&'p str, &'p [u8])>, options: &Options<'_>) -> Result<Vec<(String, Vec<u8>)>, SearchError> {
    use pagefind::api::PagefindIndex;
    use pagefind::options::PagefindServiceConfig;

    let pages: Vec<(String, String)> =
        pages.into_iter().map(|(path, html)| (path.to_string(), String::from_utf8_lossy(html).into_owned())).collect();
    let config = PagefindServiceConfig::builder()
        .root_selector(options.root_selector.to_string())
        .exclude_selectors(options.exclude.iter().map(|s| (*s).to_string()).collect())
        .keep_index_url(true)
        .build();
    let work = async move {
        let mut index = PagefindIndex::new(Some(config)).map_err(|e| SearchError::Index { page: None, message: format!("{e:#}") })?;
        for (path, html) in pages {
            index
                .add_html_file(None, Some(path.clone()), html)
                .await
                .map_err(|e| SearchError::Index { page: Some(path), message: format!("{e:#}") })?;
        }
        let files = index.get_files().await.map_err(|e| SearchError::Index { page: None, message: format!("{e:#}") })?;
        let mut out: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|f| {
                let name = f.filename.to_string_lossy().replace('\\', "/");
                (format!("{BUNDLE_DIR}/{}", name.trim_start_matches('/')), f.contents)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    };
    // A thread of its own: the caller may itself be on an async runtime (`lectern
    // serve` rebuilds the site), where starting another one in place would panic.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| SearchError::Runtime(e.to_string()))?;
                runtime.block_on(work)
            })
            .join()
            .map_err(|_| SearchError::Runtime("the indexing thread panicked".into()))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn page(lang: &str, title: &str, body: &str) -> Vec<u8> {
        format!("<!doctype html><html lang=\"{lang}\"><head><title>{title}</title></head><body><header>site header words</header><main><h1>{title}</h1>{body}</main></body></html>").into_bytes()
    }

    /// The words of every index chunk and fragment, decompressed (Pagefind gzips each
    /// file after a `pagefind_dcd` signature).
    fn indexed_text(files: &[(String, Vec<u8>)]) -> String {
        let mut text = String::new();
        for (path, bytes) in files {
            if path.ends_with(".pf_fragment") || path.ends_with(".pf_index") {
                let mut raw = Vec::new();
                flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut raw).expect("gzip");
                text.push_str(&String::from_utf8_lossy(&raw));
            }
        }
        text
    }

    const OPTIONS: Options<'static> = Options { root_selector: "main", exclude: &[".solution"] };

    #[test]
    fn a_bundle_is_made_under_its_folder_and_is_the_same_every_time() {
        let a = page("en", "Attention", "<p>Queries meet keys.</p>");
        let b = page("en", "Cache", "<p>The KV cache keeps keys.</p>");
        let pages = [("a.html", &a[..]), ("b.html", &b[..])];
        let files = index(pages, &OPTIONS).expect("index");
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert!(names.iter().all(|n| n.starts_with("pagefind/")), "{names:?}");
        for expected in ["pagefind/pagefind.js", "pagefind/pagefind-entry.json", "pagefind/wasm.en.pagefind"] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        assert_eq!(index(pages, &OPTIONS).expect("index"), files, "the same pages give the same bundle");
    }

    #[test]
    fn only_the_root_is_indexed_and_excluded_parts_never_are() {
        let html = page("en", "Quiz", "<p>visible prose</p><details class=\"solution\"><p>secretanswerword</p></details>");
        let files = index([("q.html", &html[..])], &OPTIONS).expect("index");
        let text = indexed_text(&files);
        assert!(text.contains("visible prose"), "{text}");
        assert!(!text.contains("secretanswerword"), "an excluded element reached the index: {text}");
        assert!(!text.contains("site header words"), "text outside the root reached the index: {text}");
    }

    #[test]
    fn chinese_pages_are_segmented_into_words() {
        let html = page("zh-Hant", "注意力機制", "<p>自注意力讓每個位置看見其他位置。</p>");
        let files = index([("zh.html", &html[..])], &OPTIONS).expect("index");
        let entry = files.iter().find(|(p, _)| p == "pagefind/pagefind-entry.json").expect("entry");
        let entry = String::from_utf8_lossy(&entry.1).to_lowercase();
        assert!(entry.contains("zh"), "the index is not filed under Chinese: {entry}");
        let text = indexed_text(&files);
        assert!(text.contains("注意力"), "{text}");
    }
}

//! The state of searching the diff and filtering its file list, and the pure matching: where a
//! query occurs in a line (smart case, as in helix and vim: a query with no capital ignores
//! case) and whether a path passes the filter (a substring, else the letters in order).

/// What a prompt at the bottom of the viewer is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/`: a search in the selected file, incremental.
    Search,
    /// `f`: a filter of the file list.
    Filter,
}

/// A prompt being typed, and where the view was when it opened (esc goes back there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
    pub(super) from_scroll: usize,
    pub(super) from_hscroll: usize,
}

/// One occurrence of the query: the diff line (hunk, line) and its bytes in the line's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub hunk: usize,
    pub line: usize,
    pub start: u32,
    pub end: u32,
}

/// The search and the filter of one view.
#[derive(Debug, Clone, Default)]
pub(super) struct Find {
    pub(super) prompt: Option<Prompt>,
    /// The search in force (typed, or kept with enter); empty: none.
    pub(super) query: String,
    pub(super) matches: Vec<Match>,
    /// Which of `matches` the view is on.
    pub(super) current: Option<usize>,
    /// The file list's filter; empty: every file.
    pub(super) filter: String,
    /// The files the list shows (indices into the diff's files), in order.
    pub(super) shown: Vec<usize>,
}

impl Find {
    /// "match 3/17", "no match for …", or nothing without a search.
    pub(super) fn status(&self) -> Option<String> {
        if self.query.is_empty() {
            return None;
        }
        Some(match self.current {
            Some(i) if !self.matches.is_empty() => {
                format!("match {}/{}", i + 1, self.matches.len())
            }
            _ if !self.matches.is_empty() => format!("{} matches", self.matches.len()),
            _ => format!("no match for {}", self.query),
        })
    }

    /// The byte ranges of `query` in line (`hunk`, `line`) whose text is `text`, each with
    /// whether it is the current match.
    pub(super) fn in_line(&self, hunk: usize, line: usize, text: &str) -> Vec<(u32, u32, bool)> {
        if self.query.is_empty() {
            return Vec::new();
        }
        let current = self.current.and_then(|i| self.matches.get(i));
        occurrences(text, &self.query)
            .into_iter()
            .map(|(start, end)| {
                let is_current = current.is_some_and(|m| {
                    m.hunk == hunk && m.line == line && m.start == start && m.end == end
                });
                (start, end, is_current)
            })
            .collect()
    }
}

/// The byte ranges where `query` occurs in `text`, not overlapping, left to right. Smart case:
/// a query without a capital letter matches any case (ASCII folding, which keeps byte offsets).
pub fn occurrences(text: &str, query: &str) -> Vec<(u32, u32)> {
    if query.is_empty() {
        return Vec::new();
    }
    let fold = !query.chars().any(char::is_uppercase);
    let (hay, needle) = if fold {
        (text.to_ascii_lowercase(), query.to_ascii_lowercase())
    } else {
        (text.to_string(), query.to_string())
    };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = hay[from..].find(&needle) {
        let start = from + i;
        let end = start + needle.len();
        out.push((start as u32, end as u32));
        from = end;
    }
    out
}

/// Whether `path` passes the file list's `filter`: it contains the filter, or (fuzzy) the
/// filter's characters appear in it in order; case is ignored.
pub fn passes(path: &str, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let path = path.to_lowercase();
    let filter = filter.to_lowercase();
    if path.contains(&filter) {
        return true;
    }
    let mut rest = path.chars();
    filter.chars().all(|c| rest.any(|p| p == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case_and_fuzzy_paths() {
        assert_eq!(
            occurrences("Foo foo FOO", "foo"),
            vec![(0, 3), (4, 7), (8, 11)]
        );
        assert_eq!(occurrences("Foo foo FOO", "Foo"), vec![(0, 3)]);
        assert_eq!(occurrences("aaaa", "aa"), vec![(0, 2), (2, 4)]);
        assert!(occurrences("abc", "").is_empty());
        assert!(passes("src/tui/diff_view/render.rs", "render"));
        assert!(passes("src/tui/diff_view/render.rs", "dvren"));
        assert!(!passes("src/tui/diff_view/render.rs", "xyz"));
    }
}

//! The whole old and new text of a diffed file, split as the diff model splits, for syntax
//! highlighting.

use std::sync::Arc;

/// The whole old and new text of a file, one entry per line (for syntax highlighting, which
/// must read a file from its start).
#[derive(Debug, Clone, Default)]
pub struct FileTexts {
    pub old: Arc<Vec<String>>,
    pub new: Arc<Vec<String>>,
}

impl FileTexts {
    pub fn from_texts(old: &str, new: &str) -> FileTexts {
        FileTexts {
            old: Arc::new(split_lines(old)),
            new: Arc::new(split_lines(new)),
        }
    }
}

/// Splits as the diff model splits, so line `n` here is line `n` of the hunks.
pub(super) fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l).to_string())
        .collect()
}

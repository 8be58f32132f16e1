//! A problem with the policy file, located at its file, line and column.

use std::fmt;

/// A problem with the policy file, located for the user. `line` and `column` are 1-based
/// (the column counts characters); both are 0 when the problem is the whole file (it cannot be
/// read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for PolicyError {}

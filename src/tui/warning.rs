//! A problem in a user's theme or keymap file, located by file, line and column. The console
//! shows it and carries on with the defaults for whatever was wrong.

use std::fmt;
use std::ops::Range;

use crate::config::line_col;

/// One problem in a user file, shown as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file as the user knows it (e.g. `.overlord/theme.toml`), not a machine path.
    pub file: String,
    /// 1-based; 0 when the problem has no place in the text (the file cannot be read).
    pub line: usize,
    /// 1-based, in characters; 0 when `line` is 0.
    pub column: usize,
    pub message: String,
}

impl Warning {
    /// A warning at the start of `span` in `text`.
    pub fn at(file: &str, text: &str, span: Range<usize>, message: impl Into<String>) -> Warning {
        let (line, column) = line_col(text, span.start);
        Warning {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A warning about the whole file (it cannot be read).
    pub fn file(file: &str, message: impl Into<String>) -> Warning {
        Warning {
            file: file.to_string(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// A TOML syntax error, at toml's span when it has one.
    pub(crate) fn toml(file: &str, text: &str, e: &toml::de::Error) -> Warning {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => Warning::at(file, text, span, message),
            None => Warning::file(file, message),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Reads a user file: `Ok(None)` when it does not exist (no user file is no problem).
pub(crate) fn read_user_file(
    path: &std::path::Path,
    shown: &str,
) -> Result<Option<String>, Warning> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Warning::file(shown, format!("cannot be read: {e}"))),
    }
}

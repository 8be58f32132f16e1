//! What a line that does not parse gets back: the message, a did-you-mean and the usage.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub suggestion: Option<String>,
    pub usage: Option<&'static str>,
}

impl ParseError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            suggestion: None,
            usage: None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " — did you mean {s}?")?;
        }
        if let Some(u) = self.usage {
            write!(f, " (usage: {u})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

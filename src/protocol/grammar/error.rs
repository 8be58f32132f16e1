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

    /// The refused `line` as a command for the core to record and refuse
    /// (`Command::Malformed`), so a line that does not parse is audited like any other
    /// refusal.
    pub fn into_command(self, line: &str) -> crate::protocol::Command {
        crate::protocol::Command::Malformed {
            line: line.to_string(),
            error: self.to_string(),
            suggestion: self.suggestion,
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

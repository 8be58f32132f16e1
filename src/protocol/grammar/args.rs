//! The arguments of one command: its flags taken out (`--name value`), then its words one by
//! one, and the free text at the end as it was typed.

use std::collections::BTreeMap;

use super::error::ParseError;
use super::spec::CommandSpec;
use super::tokens::{is_ident, Token};
use crate::protocol::suggest;

/// The arguments of one command after the flags were taken out.
pub(super) struct Args<'a> {
    line: &'a str,
    pub(super) spec: &'static CommandSpec,
    words: Vec<Token>,
    pub(super) next: usize,
    /// Spans of flag tokens that were taken out, so text around them is joined, not sliced.
    holes: Vec<(usize, usize)>,
    flags: BTreeMap<&'static str, Vec<String>>,
}

impl<'a> Args<'a> {
    pub(super) fn new(
        line: &'a str,
        spec: &'static CommandSpec,
        tokens: Vec<Token>,
    ) -> Result<Self, ParseError> {
        let mut words = Vec::new();
        let mut holes = Vec::new();
        let mut flags: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let mut iter = tokens.into_iter();
        let mut flags_done = spec.flags.is_empty();
        while let Some(tok) = iter.next() {
            if flags_done || tok.quoted || !tok.value.starts_with("--") {
                words.push(tok);
                continue;
            }
            if tok.value == "--" {
                flags_done = true;
                holes.push((tok.start, tok.end));
                continue;
            }
            let body = &tok.value[2..];
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(&known) = spec.flags.iter().find(|f| **f == name) else {
                return Err(ParseError {
                    message: format!("unknown option --{name} for /{}", spec.name),
                    suggestion: suggest(name, spec.flags.iter().copied()).map(|s| format!("--{s}")),
                    usage: Some(spec.usage),
                });
            };
            let mut end = tok.end;
            let value = match inline {
                Some(v) => v,
                None => match iter.next() {
                    Some(v) if v.quoted || !v.value.starts_with("--") => {
                        end = v.end;
                        v.value
                    }
                    _ => {
                        return Err(ParseError {
                            message: format!("--{name} needs a value"),
                            suggestion: None,
                            usage: Some(spec.usage),
                        })
                    }
                },
            };
            holes.push((tok.start, end));
            let repeatable = matches!(known, "input" | "output" | "affects");
            let entry = flags.entry(known).or_default();
            if !entry.is_empty() && !repeatable {
                return Err(ParseError {
                    message: format!("--{name} given twice"),
                    suggestion: None,
                    usage: Some(spec.usage),
                });
            }
            entry.push(value);
        }
        Ok(Args {
            line,
            spec,
            words,
            next: 0,
            holes,
            flags,
        })
    }

    pub(super) fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            suggestion: None,
            usage: Some(self.spec.usage),
        }
    }

    pub(super) fn peek(&self) -> Option<&Token> {
        self.words.get(self.next)
    }

    /// The next word, required.
    pub(super) fn word(&mut self, what: &str) -> Result<String, ParseError> {
        let Some(tok) = self.words.get(self.next) else {
            return Err(self.err(format!("/{} is missing <{what}>", self.spec.name)));
        };
        self.next += 1;
        Ok(tok.value.clone())
    }

    /// The next word as an identifier (agent, phase, task, checkpoint, target).
    pub(super) fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        let value = self.word(what)?;
        if !is_ident(&value) {
            return Err(self.err(format!(
                "'{}' is not a valid {what} (letters, digits and . _ - : / @ only)",
                value.escape_debug()
            )));
        }
        Ok(value)
    }

    pub(super) fn parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        what: &str,
    ) -> Result<T, ParseError> {
        let value = self.word(what)?;
        value.parse().map_err(|e: String| self.err(e))
    }

    /// The rest of the words as free text; `None` when there are none.
    pub(super) fn rest(&mut self) -> Option<String> {
        let words = &self.words[self.next.min(self.words.len())..];
        self.next = self.words.len();
        let (first, last) = (words.first()?, words.last()?);
        if words.len() == 1 && first.quoted {
            return Some(first.value.clone());
        }
        let (from, to) = (first.start, last.end);
        if self.holes.iter().any(|&(s, e)| s < to && e > from) {
            // Flags sat between the words: join them with single spaces.
            Some(
                words
                    .iter()
                    .map(|w| w.value.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        } else {
            Some(self.line[from..to].to_string())
        }
    }

    pub(super) fn text(&mut self, what: &str) -> Result<String, ParseError> {
        self.rest()
            .ok_or_else(|| self.err(format!("/{} is missing <{what}>", self.spec.name)))
    }

    pub(super) fn end(&self) -> Result<(), ParseError> {
        match self.words.get(self.next) {
            None => Ok(()),
            Some(tok) => Err(self.err(format!(
                "unexpected argument '{}' for /{}",
                tok.value.escape_debug(),
                self.spec.name
            ))),
        }
    }

    pub(super) fn flag(&mut self, name: &str) -> Option<String> {
        self.flags.remove(name).and_then(|mut v| v.pop())
    }

    pub(super) fn flag_list(&mut self, name: &str) -> Vec<String> {
        self.flags.remove(name).unwrap_or_default()
    }

    pub(super) fn required_flag(&mut self, name: &str) -> Result<String, ParseError> {
        self.flag(name)
            .ok_or_else(|| self.err(format!("/{} needs --{name}", self.spec.name)))
    }

    pub(super) fn flag_parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, ParseError> {
        match self.flag(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|e: String| self.err(e)),
        }
    }

    pub(super) fn flag_ident(&mut self, name: &str) -> Result<Option<String>, ParseError> {
        match self.flag(name) {
            Some(v) if !is_ident(&v) => Err(self.err(format!(
                "'{}' is not a valid --{name} (letters, digits and . _ - : / @ only)",
                v.escape_debug()
            ))),
            other => Ok(other),
        }
    }
}

//! Splitting a line into words: plain words, and quoted strings with their escapes; and
//! what a word may be (an identifier, a concern id).

use super::error::ParseError;
use crate::protocol::model::ConcernId;

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) value: String,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) quoted: bool,
}

pub(super) fn tokenize(line: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let mut value = String::new();
            let mut closed = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = Some(i + 1);
                        break;
                    }
                    '\\' => {
                        let Some((_, e)) = chars.next() else { break };
                        match e {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            'r' => value.push('\r'),
                            't' => value.push('\t'),
                            'u' => {
                                if chars.next().map(|(_, c)| c) != Some('{') {
                                    return Err(ParseError::new("bad escape: expected \\u{hex}"));
                                }
                                let mut hex = String::new();
                                loop {
                                    match chars.next() {
                                        Some((_, '}')) => break,
                                        Some((_, h)) if h.is_ascii_hexdigit() && hex.len() < 6 => {
                                            hex.push(h)
                                        }
                                        _ => {
                                            return Err(ParseError::new(
                                                "bad escape: expected \\u{hex}",
                                            ))
                                        }
                                    }
                                }
                                let ch = u32::from_str_radix(&hex, 16)
                                    .ok()
                                    .and_then(char::from_u32)
                                    .ok_or_else(|| {
                                        ParseError::new(format!(
                                            "bad escape: \\u{{{hex}}} is not a character"
                                        ))
                                    })?;
                                value.push(ch);
                            }
                            other => {
                                return Err(ParseError::new(format!(
                                    "bad escape \\{other} in quoted text (use \\\\ for a backslash)"
                                )))
                            }
                        }
                    }
                    c => value.push(c),
                }
            }
            let Some(end) = closed else {
                return Err(ParseError::new("unterminated quoted text (missing \")"));
            };
            if let Some(&(_, next)) = chars.peek() {
                if !next.is_whitespace() {
                    return Err(ParseError::new(
                        "a closing quote must be followed by a space",
                    ));
                }
            }
            tokens.push(Token {
                value,
                start,
                end,
                quoted: true,
            });
        } else {
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            tokens.push(Token {
                value: line[start..end].to_string(),
                start,
                end,
                quoted: false,
            });
        }
    }
    Ok(tokens)
}

/// Identifiers: agents, phases, tasks, checkpoints, approval targets.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-:/@".contains(c))
}

pub(super) fn looks_like_concern(word: &str) -> bool {
    (word.starts_with("C-") || word.starts_with("c-")) && word.parse::<ConcernId>().is_ok()
}

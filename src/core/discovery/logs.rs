//! The log miner: reads log files and JSON-lines exports (a Sentry or Datadog export: one
//! JSON object per line), picks out the errors, clusters them by normalized message and top
//! stack frame, and drafts a bug ticket per recurring cluster with its count, first and last
//! seen, and a sample trace.

use std::collections::BTreeMap;

use crate::core::tickets::{normalize, TicketDraft};
use crate::protocol::model::{TicketKind, TicketPriority};

/// One error as read from a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogError {
    pub at: Option<String>,
    pub message: String,
    pub stack: Vec<String>,
    pub file: String,
}

/// Errors seen alike: the same normalized message and top frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub key: String,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub sample: LogError,
    pub files: Vec<String>,
}

const LEVELS: [&str; 5] = ["ERROR", "FATAL", "CRITICAL", "PANIC", "SEVERE"];

/// A leading timestamp (`2026-12-06T01:02:03Z`, `2026-12-06 01:02:03,123`, `[…]`) and the rest.
fn split_time(line: &str) -> (Option<String>, &str) {
    let t = line.trim_start_matches('[');
    let b = t.as_bytes();
    let date = b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':';
    if !date {
        return (None, line);
    }
    let end = t[11..]
        .find(|c: char| c.is_whitespace() || c == ']')
        .map_or(t.len(), |i| i + 11);
    let stamp = t[..end].to_string();
    (Some(stamp), t[end..].trim_start_matches(']').trim_start())
}

/// The message of an error line without its level word; `None` for a line that is no error.
fn error_message(rest: &str) -> Option<String> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let at = words.iter().take(3).position(|w| {
        let w = w
            .trim_matches(|c: char| !c.is_ascii_alphabetic())
            .to_ascii_uppercase();
        LEVELS.contains(&w.as_str())
    });
    match at {
        Some(i) => Some(words[i + 1..].join(" ")),
        None if rest.starts_with("thread '") && rest.contains("panicked at") => {
            Some(rest.to_string())
        }
        None if rest.starts_with("Traceback (most recent call last)") => Some(rest.to_string()),
        None => None,
    }
}

fn is_continuation(line: &str) -> bool {
    line.starts_with(char::is_whitespace)
        || line.starts_with("Caused by")
        || line.starts_with("stack backtrace:")
}

/// The errors of a plain-text log: an error line and the indented lines under it.
pub fn read_text(text: &str, file: &str) -> Vec<LogError> {
    let mut out: Vec<LogError> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        if open && is_continuation(line) && !line.trim().is_empty() {
            if let Some(e) = out.last_mut() {
                e.stack.push(line.trim().to_string());
            }
            continue;
        }
        open = false;
        let (at, rest) = split_time(line);
        if let Some(message) = error_message(rest) {
            out.push(LogError {
                at,
                message,
                stack: Vec::new(),
                file: file.to_string(),
            });
            open = true;
        }
    }
    out
}

fn text_at<'v>(v: &'v serde_json::Value, paths: &[&str]) -> Option<&'v serde_json::Value> {
    paths
        .iter()
        .find_map(|p| v.pointer(p))
        .filter(|v| !v.is_null())
}

/// The errors of a JSON-lines export: objects with a level of error or worse (or no level and
/// an error field), their message, time and stack where the common exporters put them.
pub fn read_json_lines(text: &str, file: &str) -> Result<Vec<LogError>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("{file}:{}: not a JSON line: {e}", n + 1))?;
        let level = text_at(&v, &["/level", "/severity", "/status", "/log/level"])
            .and_then(|l| l.as_str())
            .map(|l| l.to_ascii_uppercase());
        let error = text_at(&v, &["/error", "/exception", "/error/message"]);
        let is_error = match &level {
            Some(l) => LEVELS.iter().any(|x| l.starts_with(x)) || l == "ERR",
            None => error.is_some(),
        };
        if !is_error {
            continue;
        }
        let message = text_at(
            &v,
            &[
                "/message",
                "/msg",
                "/title",
                "/error/message",
                "/exception/values/0/value",
                "/error",
            ],
        )
        .map(|m| {
            m.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| m.to_string())
        })
        .unwrap_or_else(|| "(no message)".to_string());
        let at = text_at(&v, &["/timestamp", "/@timestamp", "/time", "/ts", "/date"]).map(|t| {
            t.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| t.to_string())
        });
        let stack = text_at(
            &v,
            &[
                "/stack",
                "/stacktrace",
                "/stack_trace",
                "/error/stack",
                "/error/stack_trace",
            ],
        )
        .map(|s| match s {
            serde_json::Value::String(s) => s.lines().map(|l| l.trim().to_string()).collect(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|f| {
                    f.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| f.to_string())
                })
                .collect(),
            other => vec![other.to_string()],
        })
        .unwrap_or_default();
        out.push(LogError {
            at,
            message,
            stack,
            file: file.to_string(),
        });
    }
    Ok(out)
}

/// Reads a file's text as JSON lines when its first line is a JSON object, else as text.
pub fn read(text: &str, file: &str) -> Result<Vec<LogError>, String> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim_start().starts_with('{') {
        read_json_lines(text, file)
    } else {
        Ok(read_text(text, file))
    }
}

/// The frame that identifies where an error comes from: the first stack line that names
/// code (`at …`, `File "…"`, a numbered backtrace frame), else the first stack line.
fn top_frame(stack: &[String]) -> String {
    stack
        .iter()
        .find(|l| {
            l.starts_with("at ")
                || l.starts_with("File \"")
                || l.split(':')
                    .next()
                    .is_some_and(|n| n.trim().parse::<u32>().is_ok())
        })
        .or_else(|| stack.first())
        .cloned()
        .unwrap_or_default()
}

/// Clusters errors by normalized message and top frame, most frequent first.
pub fn cluster(errors: Vec<LogError>) -> Vec<Cluster> {
    let mut by_key: BTreeMap<String, Cluster> = BTreeMap::new();
    for e in errors {
        let key = format!(
            "{} | {}",
            normalize(&e.message),
            normalize(&top_frame(&e.stack))
        );
        let c = by_key.entry(key.clone()).or_insert_with(|| Cluster {
            key,
            count: 0,
            first_seen: None,
            last_seen: None,
            sample: e.clone(),
            files: Vec::new(),
        });
        c.count += 1;
        if let Some(at) = &e.at {
            if c.first_seen.as_ref().is_none_or(|f| at < f) {
                c.first_seen = Some(at.clone());
            }
            if c.last_seen.as_ref().is_none_or(|l| at > l) {
                c.last_seen = Some(at.clone());
            }
        }
        if !c.files.contains(&e.file) {
            c.files.push(e.file.clone());
        }
    }
    let mut out: Vec<Cluster> = by_key.into_values().collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    out
}

/// One bug draft per cluster seen at least `min` times.
pub fn tickets(clusters: &[Cluster], min: u64) -> Vec<TicketDraft> {
    clusters
        .iter()
        .filter(|c| c.count >= min.max(1))
        .map(|c| {
            let msg: String = c.sample.message.chars().take(100).collect();
            let priority = if c.count >= 10 {
                TicketPriority::High
            } else {
                TicketPriority::Medium
            };
            let mut d = TicketDraft::new(TicketKind::Bug, priority, format!("fix: {msg}"));
            let mut trace = vec![c.sample.message.clone()];
            trace.extend(c.sample.stack.iter().take(40).cloned());
            d.context.error_logs = Some(trace.join("\n"));
            d.evidence = vec![
                format!("seen {} times in {}", c.count, c.files.join(", ")),
                format!(
                    "first seen {}",
                    c.first_seen.as_deref().unwrap_or("(no timestamp)")
                ),
                format!(
                    "last seen {}",
                    c.last_seen.as_deref().unwrap_or("(no timestamp)")
                ),
            ];
            let top = top_frame(&c.sample.stack);
            if !top.is_empty() {
                d.evidence.push(format!("top frame: {top}"));
            }
            let key: String = c.key.chars().take(200).collect();
            d.evidence_key = Some(format!("logs:{key}"));
            d.acceptance_criteria = vec![serde_json::Value::from(format!(
                "the error \"{msg}\" no longer occurs"
            ))];
            d
        })
        .collect()
}

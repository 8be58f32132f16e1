//! What a CLI's stderr says that matters: the model API retries a CLI makes without a word
//! on stdout (Gemini CLI's `Attempt 1 failed with status 429. Retrying with backoff...`,
//! `Attempt 2 failed: … Retrying after 5469ms...`), and which stderr lines are noise that
//! must not end up in a concern (`}`, `Reading additional input from stdin...`).

use super::classify::{classify, http_status, retry_after_ms};
use super::event::{AgentEvent, ErrorKind};

/// Lines a CLI prints on stderr in normal operation: never the reason a run failed.
const NOISE: [&str; 6] = [
    "reading additional input from stdin",
    "loaded cached credentials",
    "data collection is disabled",
    "yolo mode is enabled",
    "hook registry initialized",
    "listening for changes",
];

/// A model API retry announced on stderr, as a warning: `retrying (API 429), attempt N`
/// (the status when the line names one or reads as a rate limit, else `API error`), with the
/// error classified and the wait when the line says it. `None` for any other line.
pub fn api_retry(line: &str) -> Option<AgentEvent> {
    let text = line.trim();
    let rest = text.strip_prefix("Attempt ")?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let attempt: u32 = rest[..digits].parse().ok()?;
    let lower = rest.to_lowercase();
    if !lower[digits..].trim_start().starts_with("failed") || !lower.contains("retrying") {
        return None;
    }
    let status = status_after(&lower).or_else(|| http_status(text));
    let mut kind = classify(text, status, None);
    let status = status.or(matches!(kind, ErrorKind::RateLimited { .. }).then_some(429));
    if let ErrorKind::RateLimited { retry_after_ms: ms } = &mut kind {
        *ms = ms.or_else(|| retry_after_ms(text));
    }
    let api = match status {
        Some(s) => format!("API {s}"),
        None => "API error".to_string(),
    };
    Some(AgentEvent::Warning {
        message: format!("retrying ({api}), attempt {attempt}"),
        error: Some(kind),
        raw: line.to_string(),
    })
}

/// `… with status 429 …`: the number after `status`.
fn status_after(lower: &str) -> Option<u16> {
    let at = lower.find("status ")? + "status ".len();
    let rest = &lower[at..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok().filter(|s| (100..=599).contains(s))
}

/// Whether a stderr line says something a person should read with a failure: not blank, not a
/// lone bracket or brace left over from a JSON dump, not one of the CLIs' routine notices.
pub fn meaningful(line: &str) -> bool {
    let letters = line.chars().filter(|c| c.is_alphanumeric()).count();
    if letters < 3 {
        return false;
    }
    let lower = line.to_lowercase();
    !NOISE.iter().any(|n| lower.contains(n))
}

/// The last meaningful line of a stderr tail.
pub fn last_meaningful(tail: &[String]) -> Option<&str> {
    tail.iter()
        .rev()
        .map(String::as_str)
        .find(|l| meaningful(l))
}

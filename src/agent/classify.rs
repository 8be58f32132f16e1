//! Which kind of failure an error message is: a rate limit (with how long to wait when the
//! message says), a quota or billing problem, rejected credentials, a failed API call, an
//! interruption, or something else.
//!
//! The CLIs pass the model API's errors through as text, sometimes with a status or a type
//! next to it (Claude's `api_error_status`/`api_error_type`, the `type` inside the JSON error
//! Codex prints), so the classification reads all three. The rules, first match wins:
//!
//! 1. **interrupted**: `[Request interrupted by user]`, `aborted_streaming`, `aborted_tools`;
//! 2. **auth**: status 401 or 403, or `authentication`, `unauthorized`, `invalid api key`,
//!    `api key not valid`, `not logged in`, `/login`, `permission_error`;
//! 3. **quota**: status 402, or `insufficient_quota`, `credit balance`, `billing_error`,
//!    `payment`, `usage limit`, `exhausted your daily quota`, `exhausted your capacity`, or
//!    `quota` with `per day`/`perday`/`daily` (Google's `QuotaFailure` ids such as
//!    `GenerateRequestsPerDayPerProjectPerModel`) — waiting will not clear these, and they win
//!    over a retry hint;
//! 4. **rate limited**: a per-minute (or per-second) quota (`PerMinute` in Google's quota ids,
//!    `per minute`) or a retry hint (`retry-after`, `retry after`, `try again in`, `retry
//!    in`, `retrying in`, `retryDelay` — Google's `RetryInfo`) next to any quota or 429 text:
//!    Google words its per-minute 429 "You exceeded your current quota, please check your plan
//!    and billing details … Please retry in 1s", so these win over the words below;
//! 5. **quota** again: `billing` or `exceeded your current quota` with no retry hint (OpenAI's
//!    `insufficient_quota` reads so);
//! 6. **rate limited**: status 429, or `rate limit`, `rate_limit`, `ratelimit`, `too many
//!    requests`, `resource_exhausted`, or any other `quota`; the wait from the retry hint when
//!    present;
//! 7. **api error**: any other status from 400 to 599, or `api error`, `invalid_request`,
//!    `bad request`, `server_error`, `overloaded`, `internal server error`, `service
//!    unavailable`, `stream disconnected`, `unexpected status`;
//! 8. **other**.
//!
//! An exit code is never a rule: Gemini CLI exits 173 (429 mod 256) on a rate limit and on an
//! exhausted quota alike, so its parser passes it on as status 429 and the text decides.

use serde_json::Value;

use super::event::ErrorKind;

/// The most of a message read to classify it (API errors are short; a huge line is cut).
const CLASSIFY_LIMIT: usize = 64 * 1024;

/// Classifies an error from its message and, when the CLI gave them, the HTTP status and the
/// API's error type or code. A status found in the message (`API Error: 400 …`, `429 Too Many
/// Requests`, `status 503`) counts when none is given.
pub fn classify(message: &str, status: Option<u16>, code: Option<&str>) -> ErrorKind {
    let message = cut(message, CLASSIFY_LIMIT);
    let status = status.or_else(|| http_status(message));
    let hay = format!("{} {}", code.unwrap_or(""), message).to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| hay.contains(n));

    if has(&[
        "interrupted by user",
        "request interrupted",
        "aborted_streaming",
        "aborted_tools",
    ]) {
        return ErrorKind::Interrupted;
    }
    if matches!(status, Some(401 | 403))
        || has(&[
            "authentication",
            "unauthorized",
            "invalid api key",
            "invalid x-api-key",
            "invalid_api_key",
            "api key not valid",
            "not logged in",
            "/login",
            "permission_error",
        ])
    {
        return ErrorKind::Auth;
    }
    let quota_word = hay.contains("quota");
    if status == Some(402)
        || has(&[
            "insufficient_quota",
            "credit balance",
            "billing_error",
            "payment",
            "usage limit",
            "usage_limit",
            "exhausted your daily quota",
            "exhausted your capacity",
        ])
        || (quota_word && has(&["per day", "perday", "per_day", "daily"]))
    {
        return ErrorKind::Quota;
    }
    let retry_after = retry_after_ms(message);
    let limited_words = status == Some(429)
        || quota_word
        || has(&[
            "rate limit",
            "rate_limit",
            "ratelimit",
            "too many requests",
            "resource_exhausted",
        ]);
    let per_minute = has(&[
        "perminute",
        "per minute",
        "per_minute",
        "persecond",
        "per second",
    ]);
    if limited_words && (per_minute || retry_after.is_some()) {
        return ErrorKind::RateLimited {
            retry_after_ms: retry_after,
        };
    }
    if has(&["billing", "exceeded your current quota"]) {
        return ErrorKind::Quota;
    }
    if limited_words {
        return ErrorKind::RateLimited {
            retry_after_ms: retry_after,
        };
    }
    if status.is_some_and(|s| (400..=599).contains(&s))
        || has(&[
            "api error",
            "invalid_request",
            "bad request",
            "server_error",
            "overloaded",
            "internal server error",
            "service unavailable",
            "stream disconnected",
            "unexpected status",
        ])
    {
        return ErrorKind::Api { status };
    }
    ErrorKind::Other
}

/// How long the message says to wait, in milliseconds: `Retry-After: 30`, `retry after 2
/// minutes`, `Please try again in 1.5s`, `Retrying in 0.2 seconds`, `"retryDelay": "37s"`.
/// A number without a unit is seconds.
pub fn retry_after_ms(message: &str) -> Option<u64> {
    let hay = cut(message, CLASSIFY_LIMIT).to_lowercase();
    const MARKERS: [&str; 9] = [
        "retrying after",
        "retry-after",
        "retry after",
        "retry_after",
        "try again in",
        "retry in",
        "retrying in",
        "retrydelay",
        "retry_delay_ms",
    ];
    let mut best: Option<(usize, u64)> = None;
    for marker in MARKERS {
        let mut from = 0;
        while let Some(pos) = hay[from..].find(marker) {
            let at = from + pos;
            from = at + marker.len();
            let rest = hay[from..].trim_start_matches([' ', ':', '=', '"', '\'']);
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let Ok(value) = rest[..number_len].parse::<f64>() else {
                continue;
            };
            if !value.is_finite() || value < 0.0 {
                continue;
            }
            let unit = rest[number_len..].trim_start();
            let ms_per_unit = if marker == "retry_delay_ms" || unit.starts_with("ms") {
                1.0
            } else if unit.starts_with('s') {
                1000.0
            } else if unit.starts_with('m') {
                60_000.0
            } else if unit.starts_with('h') {
                3_600_000.0
            } else {
                1000.0
            };
            let ms = (value * ms_per_unit).round().min(u64::MAX as f64) as u64;
            if best.is_none_or(|(p, _)| at < p) {
                best = Some((at, ms));
            }
            break;
        }
    }
    best.map(|(_, ms)| ms)
}

/// An HTTP error status (400–599) named in the message: after `status`, `error`, `http` or
/// `code` (`API Error: 400`, `unexpected status 429`), or before its reason phrase (`429 Too
/// Many Requests`).
pub fn http_status(message: &str) -> Option<u16> {
    const REASONS: [&str; 11] = [
        "too many",
        "unauthorized",
        "forbidden",
        "bad request",
        "internal server",
        "service unavailable",
        "bad gateway",
        "gateway timeout",
        "overloaded",
        "payment required",
        "not found",
    ];
    const LEADS: [&str; 5] = ["status", "error", "http", "code", "statuscode"];
    let text = cut(message, CLASSIFY_LIMIT);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let end = i;
        if end - start != 3
            || (start > 0 && matches!(bytes[start - 1], b'.' | b'-' | b'_'))
            || (end < bytes.len() && matches!(bytes[end], b'.' | b'-' | b'_'))
        {
            continue;
        }
        let Ok(value) = text[start..end].parse::<u16>() else {
            continue;
        };
        if !(400..=599).contains(&value) {
            continue;
        }
        let before = String::from_utf8_lossy(&bytes[start.saturating_sub(16)..start])
            .to_lowercase()
            .trim_end_matches([' ', ':', '=', '"', '\'', '('])
            .to_string();
        let after = String::from_utf8_lossy(&bytes[end..(end + 24).min(bytes.len())])
            .to_lowercase()
            .trim_start_matches([' ', ':', '-', '"', '\''])
            .to_string();
        if LEADS.iter().any(|l| before.ends_with(l)) || REASONS.iter().any(|r| after.starts_with(r))
        {
            return Some(value);
        }
    }
    None
}

/// An API error as a CLI passes it on: often the API's JSON body as a string
/// (`{"error": {"message": "…", "type": "invalid_request_error"}}`), sometimes plain text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiErrorText {
    /// The inner `message` of a JSON body, else the text itself (trimmed).
    pub message: String,
    /// `error.code` or `error.status` when numeric, else a status named in the text.
    pub status: Option<u16>,
    /// `error.type`, else `error.status` or `error.code` when textual.
    pub code: Option<String>,
    /// Google's `error.details` (its `QuotaFailure` ids, its `RetryInfo`) as JSON text: read
    /// by the classification, not shown.
    pub details: Option<String>,
}

impl ApiErrorText {
    pub(crate) fn read(text: &str) -> ApiErrorText {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
                if let Some(found) = ApiErrorText::from_json(&value) {
                    return found;
                }
            }
        }
        ApiErrorText {
            message: trimmed.to_string(),
            status: http_status(trimmed),
            code: None,
            details: None,
        }
    }

    fn from_json(value: &Value) -> Option<ApiErrorText> {
        let error = match value.get("error") {
            Some(Value::String(s)) => {
                return Some(ApiErrorText {
                    message: s.clone(),
                    status: http_status(s),
                    code: None,
                    details: None,
                })
            }
            Some(e @ Value::Object(_)) => e,
            _ if value.get("message").is_some() => value,
            _ => return None,
        };
        let message = error.get("message").and_then(Value::as_str)?.to_string();
        let numeric = |key: &str| {
            error
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| (100..=599).contains(n))
        };
        let textual = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_string);
        let status = numeric("code")
            .or_else(|| numeric("status"))
            .or_else(|| http_status(&message));
        let code = textual("type")
            .or_else(|| textual("status"))
            .or_else(|| textual("code"));
        let details = error
            .get("details")
            .filter(|d| !d.is_null())
            .map(Value::to_string);
        Some(ApiErrorText {
            message,
            status,
            code,
            details,
        })
    }

    pub(crate) fn kind(&self) -> ErrorKind {
        self.kind_with_status(self.status)
    }

    /// The kind, with `status` standing for the one the text gave (Gemini's exit code 173
    /// says 429 without saying whether it is a rate limit or a quota: the text decides).
    pub(crate) fn kind_with_status(&self, status: Option<u16>) -> ErrorKind {
        match &self.details {
            Some(details) => classify(
                &format!("{} {details}", self.message),
                status,
                self.code.as_deref(),
            ),
            None => classify(&self.message, status, self.code.as_deref()),
        }
    }
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a char boundary.
pub(crate) fn cut(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

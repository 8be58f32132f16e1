//! The classification of the real CLIs' error texts (issue 21 §1): a rate limit (pause and
//! retry) against a quota or billing error (stop), table-driven over the messages each CLI
//! prints — Google's per-minute 429 words itself like an exhausted quota but carries a retry
//! hint and a `PerMinute` quota id; Gemini's exit code 173 never decides.
//!
//! The texts are the APIs' documented error bodies as the CLIs pass them on (Codex prints the
//! OpenAI body in `error`/`turn.failed`, Claude Code its `API Error: <status> <body>` text and
//! `error` types, Gemini CLI the Google body in its `error` event and `result.error`).

use overlord::agent::parse::{CodexParser, GeminiParser};
use overlord::agent::{classify, AgentEvent, ErrorKind};

/// Google's per-minute 429, as the Gemini API sends it (message, `QuotaFailure`, `RetryInfo`).
const GOOGLE_PER_MINUTE: &str = r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash\nPlease retry in 1s. Suggested retry after 1s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}}"#;

/// The same 429 with no retry hint in its text: the `PerMinute` id and `RetryInfo` decide.
const GOOGLE_PER_MINUTE_NO_HINT: &str = r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}"#;

/// Google's per-day quota: the same words, a `PerDay` id (and a retry hint of hours).
const GOOGLE_PER_DAY: &str = r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250, model: gemini-2.5-flash\nPlease retry in 20h41m7s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"74467s"}]}}"#;

/// One row: the CLI, the text, the status and the code the CLI gave, the expected kind.
type Row<'a> = (&'a str, &'a str, Option<u16>, Option<&'a str>, ErrorKind);

fn limited(ms: Option<u64>) -> ErrorKind {
    ErrorKind::RateLimited { retry_after_ms: ms }
}

#[test]
fn every_clis_error_texts_are_classified_as_a_rate_limit_or_a_quota() {
    // (cli, text, status the CLI gave, code the CLI gave, expected)
    let table: Vec<Row<'_>> = vec![
        // Codex (OpenAI bodies and codex's own texts).
        (
            "codex",
            "Rate limit reached for gpt-5 in organization org-abc on tokens per min (TPM): Limit 30000, Used 29513, Requested 1860. Please try again in 2.746s. Visit https://platform.openai.com/account/rate-limits to learn more.",
            None,
            Some("rate_limit_exceeded"),
            limited(Some(2746)),
        ),
        (
            "codex",
            "exceeded retry limit, last status: 429 Too Many Requests, request id: 9f1c",
            None,
            None,
            limited(None),
        ),
        (
            "codex",
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            Some(429),
            Some("insufficient_quota"),
            ErrorKind::Quota,
        ),
        (
            "codex",
            "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in 2 days 3 hours 5 minutes.",
            None,
            Some("usage_limit_reached"),
            ErrorKind::Quota,
        ),
        // Claude Code.
        (
            "claude",
            r#"API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 50,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."},"request_id":"req_011CV"}"#,
            Some(429),
            Some("rate_limit_error"),
            limited(None),
        ),
        (
            "claude",
            "Credit balance is too low",
            None,
            Some("billing_error"),
            ErrorKind::Quota,
        ),
        (
            "claude",
            "Claude AI usage limit reached|1765100000",
            None,
            None,
            ErrorKind::Quota,
        ),
        (
            "claude",
            r#"API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            None,
            None,
            ErrorKind::Api { status: Some(529) },
        ),
        // Gemini CLI (Google's texts).
        (
            "gemini",
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash\nPlease retry in 1s. Suggested retry after 1s.",
            Some(429),
            Some("RESOURCE_EXHAUSTED"),
            limited(Some(1000)),
        ),
        (
            "gemini",
            "You have exhausted your daily quota on this model.",
            Some(429),
            Some("RESOURCE_EXHAUSTED"),
            ErrorKind::Quota,
        ),
        (
            "gemini",
            "You have exhausted your capacity on this model. Your quota will reset after 2h52m39s.",
            None,
            None,
            ErrorKind::Quota,
        ),
        (
            "gemini",
            "Quota exceeded for quota metric 'Gemini 2.5 Pro Requests' and limit 'Gemini 2.5 Pro Requests per day per user per tier'",
            Some(429),
            None,
            ErrorKind::Quota,
        ),
        (
            "gemini",
            r#"[API Error: {"error":{"code":429,"message":"No capacity available for model gemini-3-flash-preview on the server","errors":[{"reason":"rateLimitExceeded"}],"status":"RESOURCE_EXHAUSTED"}}]"#,
            None,
            None,
            limited(None),
        ),
    ];
    let mut wrong = Vec::new();
    for (cli, text, status, code, expected) in &table {
        let got = classify(text, *status, *code);
        if got != *expected {
            wrong.push(format!(
                "{cli}: {text:.80}… → {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

/// A gemini stream-json run that ended with the API's error (as `error` event and `result`).
fn gemini_failed_run(body: &str, exit: i32) -> AgentEvent {
    let message = serde_json::to_string(body).unwrap();
    let lines = [
        r#"{"type":"init","timestamp":"2026-12-01T10:00:00.000Z","session_id":"9d1c","model":"gemini-2.5-flash"}"#.to_string(),
        format!(r#"{{"type":"error","timestamp":"2026-12-01T10:00:01.000Z","severity":"error","message":{message}}}"#),
        format!(r#"{{"type":"result","timestamp":"2026-12-01T10:00:01.000Z","status":"error","error":{{"type":"FatalAPIError","message":{message},"code":{exit}}},"stats":{{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"duration_ms":900,"tool_calls":0}}}}"#),
    ];
    let mut parser = GeminiParser::new();
    let mut events = Vec::new();
    for line in &lines {
        events.extend(parser.line(line));
    }
    events.extend(parser.finish(Some(exit)));
    events
        .into_iter()
        .find(AgentEvent::is_finished)
        .expect("a Finished event")
}

fn finished_kind(event: &AgentEvent) -> ErrorKind {
    match event {
        AgentEvent::Finished {
            ok: false,
            error: Some(e),
            ..
        } => e.kind,
        other => panic!("not a failed Finished: {other:?}"),
    }
}

#[test]
fn geminis_per_minute_429_is_a_rate_limit_and_its_daily_quota_a_stop_whatever_the_exit_code() {
    assert_eq!(
        finished_kind(&gemini_failed_run(GOOGLE_PER_MINUTE, 173)),
        limited(Some(1000))
    );
    assert_eq!(
        finished_kind(&gemini_failed_run(GOOGLE_PER_MINUTE_NO_HINT, 173)),
        limited(Some(7000))
    );
    assert_eq!(
        finished_kind(&gemini_failed_run(GOOGLE_PER_DAY, 173)),
        ErrorKind::Quota
    );
    assert_eq!(
        finished_kind(&gemini_failed_run(
            "You have exhausted your daily quota on this model.",
            173
        )),
        ErrorKind::Quota
    );
    // The exit code alone decides nothing: the same daily quota with exit 1 is still a quota.
    assert_eq!(
        finished_kind(&gemini_failed_run(GOOGLE_PER_DAY, 1)),
        ErrorKind::Quota
    );
}

#[test]
fn a_gemini_run_cut_short_after_its_429_error_event_is_classified_from_the_text() {
    // The error event, then the process ends (exit 173) without a `result`.
    let message = serde_json::to_string(GOOGLE_PER_DAY).unwrap();
    let mut parser = GeminiParser::new();
    let mut events =
        parser.line(r#"{"type":"init","session_id":"9d1c","model":"gemini-2.5-flash"}"#);
    events.extend(parser.line(&format!(
        r#"{{"type":"error","severity":"error","message":{message}}}"#
    )));
    events.extend(parser.finish(Some(173)));
    let finished = events.iter().find(|e| e.is_finished()).unwrap();
    assert_eq!(finished_kind(finished), ErrorKind::Quota);
    // Nothing printed but the exit code: a pause is the guess (the next run tells more).
    let mut parser = GeminiParser::new();
    let events = parser.finish(Some(173));
    assert!(matches!(
        finished_kind(&events[0]),
        ErrorKind::RateLimited { .. }
    ));
}

#[test]
fn codexs_turn_failed_with_openais_rate_limit_and_quota_bodies() {
    let run = |body: &str| {
        let message = serde_json::to_string(body).unwrap();
        let mut parser = CodexParser::new();
        let mut events = parser.line(r#"{"type":"thread.started","thread_id":"t-1"}"#);
        events.extend(parser.line(r#"{"type":"turn.started"}"#));
        events.extend(parser.line(&format!(
            r#"{{"type":"turn.failed","error":{{"message":{message}}}}}"#
        )));
        events.extend(parser.finish(Some(1)));
        finished_kind(events.iter().find(|e| e.is_finished()).unwrap())
    };
    assert_eq!(
        run(
            r#"{"error":{"message":"Rate limit reached for gpt-5 in organization org-abc on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
        ),
        limited(Some(120))
    );
    assert_eq!(
        run(
            r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#
        ),
        ErrorKind::Quota
    );
}

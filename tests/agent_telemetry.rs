//! What the agents' runs leave to see (issue 21 §3–§6): the rate-limit countdown computed
//! from its deadline, Claude's live text, stderr noise kept out of concerns, Gemini's silent
//! API retries, zombies that are not orphans, and the telemetry kept per run and per task.

use overlord::protocol::model::{Agent, AgentState, Role};
use overlord::protocol::report::StatusReport;
use overlord::protocol::State;

#[test]
fn the_rate_limit_countdown_is_computed_from_its_deadline_in_every_report() {
    let mut state = State::default();
    let mut a = Agent::new("impl-1", Role::Implementer, "codex", "2026-12-07T10:00:00Z");
    a.state = AgentState::RateLimited;
    a.task = Some("a".into());
    a.detail = Some("rate-limited (429 Too Many Requests); pause 1 of 3".into());
    a.rate_limited_until = Some("2026-12-07T10:00:30Z".into());
    state.agents.insert(a.id.clone(), a);

    let at = |now: &str| StatusReport::from_state(&state, now);
    let first = at("2026-12-07T10:00:15Z");
    let later = at("2026-12-07T10:00:21Z");
    assert!(
        first.render_text().contains("resumes in 15s"),
        "{}",
        first.render_text()
    );
    assert!(
        later.render_text().contains("resumes in 9s"),
        "{}",
        later.render_text()
    );
    // The JSON report carries the deadline and the seconds left, as state.agents[] does.
    let json = serde_json::to_value(&later).unwrap();
    assert_eq!(
        json["agents"][0]["rate_limited_until"],
        "2026-12-07T10:00:30Z"
    );
    assert_eq!(json["agents"][0]["resumes_in_secs"], 9);
    // Past the deadline it says 0, never a negative or a frozen number.
    let past = at("2026-12-07T10:01:00Z");
    assert_eq!(past.agents[0].resumes_in_secs, Some(0));
}

const CLAUDE_PARTIAL: &str =
    include_str!("fixtures/agent-cli/claude-code-2.1.329/print_resume_partial_messages.jsonl");

fn claude_spec(args: &[&str]) -> overlord::agent::adapter::AdapterSpec {
    overlord::agent::adapter::AdapterSpec::from_config(
        "claude",
        &overlord::agent::adapter::AdapterConfig {
            binary: "claude".to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        },
    )
    .expect("adapter")
}

#[test]
fn claude_streams_partial_messages_by_default_and_each_text_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let turn = overlord::agent::adapter::Turn {
        prompt: "do it",
        resume: None,
        workdir: dir.path(),
        files: &[],
    };
    let exe = std::path::Path::new("overlord-tui");
    let count = |args: &[String]| {
        args.iter()
            .filter(|a| *a == "--include-partial-messages")
            .count()
    };
    let inv = claude_spec(&[]).invocation(&turn, exe);
    assert_eq!(count(&inv.args), 1, "{:?}", inv.args);
    // Named in the adapter's args as well: still once.
    let inv = claude_spec(&["--include-partial-messages"]).invocation(&turn, exe);
    assert_eq!(count(&inv.args), 1, "{:?}", inv.args);

    // The captured stream with partial messages: the deltas make up each whole message, and
    // every whole message comes exactly once.
    let mut parser = overlord::agent::parse::ClaudeParser::new();
    let mut events = Vec::new();
    for line in CLAUDE_PARTIAL.lines() {
        events.extend(parser.line(line));
    }
    let mut live = String::new();
    let mut whole = Vec::new();
    let mut deltas = 0;
    for e in &events {
        if let overlord::agent::AgentEvent::Text { text, delta, .. } = e {
            if *delta {
                live.push_str(text);
                deltas += 1;
            } else {
                if !live.is_empty() {
                    assert_eq!(&live, text, "the deltas make up the whole message");
                }
                live.clear();
                whole.push(text.clone());
            }
        }
    }
    assert!(deltas >= 1, "the fixture streams deltas");
    assert!(!whole.is_empty());
    let mut unique = whole.clone();
    unique.dedup();
    assert_eq!(unique, whole, "a message shown twice");
}

#[test]
fn geminis_api_retries_on_stderr_become_warnings_and_noise_is_not_meaningful() {
    use overlord::agent::stderr::{api_retry, last_meaningful};
    use overlord::agent::{AgentEvent, ErrorKind};
    let warn = |line: &str| match api_retry(line) {
        Some(AgentEvent::Warning { message, error, .. }) => (message, error),
        other => panic!("{line}: {other:?}"),
    };
    assert_eq!(
        warn("Attempt 1 failed with status 429. Retrying with backoff... GaxiosError: [{"),
        (
            "retrying (API 429), attempt 1".to_string(),
            Some(ErrorKind::RateLimited {
                retry_after_ms: None
            })
        )
    );
    assert_eq!(
        warn("Attempt 3 failed: You exceeded your current quota, please check your plan and billing details. Retrying after 5469ms..."),
        (
            "retrying (API 429), attempt 3".to_string(),
            Some(ErrorKind::RateLimited {
                retry_after_ms: Some(5469)
            })
        )
    );
    assert_eq!(
        warn("Attempt 2 failed with status 503. Retrying with backoff... ApiError: service unavailable").0,
        "retrying (API 503), attempt 2"
    );
    assert!(api_retry("Attempt to read the file failed").is_none());
    assert!(api_retry("Loaded cached credentials.").is_none());

    let tail: Vec<String> = [
        "Error: ENOENT: no such file or directory, open 'x.json'",
        "}",
        "  ",
        "Reading additional input from stdin...",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        last_meaningful(&tail),
        Some("Error: ENOENT: no such file or directory, open 'x.json'")
    );
    assert_eq!(last_meaningful(&tail[1..]), None);
}

#[test]
fn the_consoles_raw_view_of_an_agent_shows_what_its_tasks_runs_did() {
    use overlord::protocol::model::{
        CostSource, FailedTool, RunTelemetry, TaskTelemetry, TokenSplit,
    };
    use overlord::tui::theme::Theme;
    let mut state = State::default();
    let mut a = Agent::new(
        "impl-1",
        Role::Implementer,
        "claude",
        "2026-12-07T10:00:00Z",
    );
    a.state = AgentState::Running;
    a.task = Some("a".into());
    state.agents.insert(a.id.clone(), a);
    let mut t = TaskTelemetry::default();
    t.add(&RunTelemetry {
        adapter: "claude".into(),
        model: Some("claude-sonnet-4-5".into()),
        ok: true,
        tool_calls: 2,
        tools: [("Bash".to_string(), 2)].into(),
        failed_tools: vec![FailedTool {
            name: "Bash".into(),
            summary: "cargo test".into(),
            exit_code: Some(101),
        }],
        files: vec!["src/lib.rs".into()],
        tokens: TokenSplit {
            input: 1200,
            cached_input: 300,
            output: 80,
            reasoning: 0,
        },
        tokens_unknown: false,
        cost_micros: 6090,
        cost_source: CostSource::Reported,
    });
    state.task_telemetry.insert("a".into(), t);
    let theme = Theme::dark();
    let view = overlord::tui::panes::activity::ActivityView {
        agent: Some("impl-1".into()),
        raw: true,
        ..Default::default()
    };
    let buf = crate::tui_panes::draw(220, 6, |area, buf| {
        overlord::tui::panes::activity::render(
            &crate::tui_panes::ctx(&state, &theme, true),
            &view,
            &Default::default(),
            &[],
            area,
            buf,
        )
    });
    let shown = crate::tui_panes::text(&buf);
    assert!(
        shown.contains("a: 1 run · 2 tool calls (1 failed: Bash exit 101) · 1 file · 1200 in (300 cached) / 80 out (0 reasoning) · $0.0061 reported · claude-sonnet-4-5"),
        "{shown}"
    );
}

mod stamps {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// The protocol's clock-free reading of an audit timestamp agrees with the date
        /// library's, whatever the day, time and precision.
        #[test]
        fn stamp_millis_agrees_with_the_date_library(ms in 0i64..8_000_000_000_000, digits in 0usize..4) {
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
            let frac = format!("{:03}", t.millisecond());
            let stamp = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{}Z",
                t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second(),
                if digits == 0 { "" } else { "." },
                &frac[..digits.min(3)],
            );
            prop_assert_eq!(
                overlord::protocol::report::stamp_millis(&stamp),
                overlord::metrics::parse_ms(&stamp),
                "{}", stamp
            );
        }
    }

    #[test]
    fn what_is_not_an_audit_timestamp_is_none() {
        for bad in [
            "",
            "2026-12-07",
            "2026-13-01T00:00:00Z",
            "2026-12-07T25:00:00Z",
            "2026-12-07T08:00:00",
            "2026-12-07T08:00:00.x1Z",
            "garbage",
        ] {
            assert_eq!(overlord::protocol::report::stamp_millis(bad), None, "{bad}");
        }
    }
}

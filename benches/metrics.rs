//! Metrics benchmarks, side by side in one run (see docs/PERFORMANCE.md): over one history of
//! 100,000 events (200 agents over ten days: activity, state changes, concerns, QA runs,
//! merges, checkpoints),
//! - the baseline: folding the events into the state (what opening a store replays);
//! - `compute` over all time and over 24 hours, then `evaluate` (one evaluation of the owner's
//!   monitor, and what the console's pane computes);
//! - `per_checkpoint` (the pane's sparklines);
//! - `digest::render` (the daily digest);
//! - the same figures kept incrementally (`metrics::Running`, issue 23): over all time from the
//!   running fold alone, and over 24 hours from the newest mark before the window (the events
//!   since it folded again), then `evaluate`; the points per checkpoint from the running fold.
//!   The whole-process figures (the stored fold read back) are the growth bench's.
//!
//! `cargo bench --bench metrics` (OVERLORD_BENCH_EVENTS changes the size).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use overlord::config::MetricsConfig;
use overlord::metrics::running::Plan;
use overlord::metrics::{self, digest, Facts, Mark, Running, Window};
use overlord::protocol::model::{
    Agent, AgentState, Checkpoint, CheckpointKind, Concern, ConcernId, QaDecision, QaMetrics,
    QaRun, QaRunId, Role, Severity,
};
use overlord::protocol::{Event, EventKind, State};

const START_MS: i64 = 1_795_219_200_000; // 2026-11-19T00:00:00Z

fn stamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    overlord::core::stamp(t)
}

fn history(n: usize) -> (Vec<Event>, String) {
    let agents = 200usize;
    let roles = [
        Role::Implementer,
        Role::Tester,
        Role::Designer,
        Role::Reviewer,
    ];
    // Ten days, evenly.
    let step = (10 * 24 * 3600 * 1000) / n as i64;
    let mut out = Vec::with_capacity(n);
    let mut concerns = 0u64;
    let mut runs = 0u64;
    let mut checkpoints = 0u64;
    let mut push = |i: usize, kind: EventKind| {
        out.push(Event {
            seq: out.len() as u64 + 1,
            at: stamp(START_MS + i as i64 * step),
            command_seq: None,
            actor: "bench".into(),
            kind,
        });
    };
    for a in 0..agents {
        push(
            0,
            EventKind::AgentRegistered {
                agent: Agent::new(
                    &format!("agent-{a}"),
                    roles[a % roles.len()],
                    if a % 2 == 0 { "codex" } else { "claude" },
                    &stamp(START_MS),
                ),
            },
        );
    }
    let mut i = agents;
    while i < n {
        let a = i % agents;
        let agent = format!("agent-{a}");
        let task = format!("t{}", (i / 1000) * agents + a);
        let kind = match i % 50 {
            0 => EventKind::AgentStateChanged {
                agent,
                state: AgentState::Running,
                task: Some(task),
                detail: None,
                attempt: Some(1),
                session_id: None,
                until: None,
            },
            25 => EventKind::AgentStateChanged {
                agent,
                state: AgentState::Waiting,
                task: Some(task),
                detail: None,
                attempt: None,
                session_id: None,
                until: None,
            },
            10 => {
                concerns += 1;
                EventKind::ConcernRaised {
                    concern: Concern::raised(
                        ConcernId(concerns),
                        Role::Implementer,
                        Role::Designer,
                        if concerns.is_multiple_of(7) {
                            Severity::Critical
                        } else {
                            Severity::Warning
                        },
                        "spec_ambiguity",
                        format!("concern {concerns}"),
                        stamp(START_MS + i as i64 * step),
                    ),
                }
            }
            15 if concerns > 0 => EventKind::ConcernAcknowledged {
                id: ConcernId(concerns),
            },
            40 if concerns > 1 => EventKind::ConcernResolved {
                id: ConcernId(concerns - 1),
                note: None,
            },
            _ if i % 500 == 1 => {
                runs += 1;
                EventKind::QaStarted {
                    run: QaRunId(runs),
                    tree: "t".into(),
                    gates: vec!["tests".into()],
                    promotion: false,
                }
            }
            _ if i % 500 == 3 && runs > 0 => EventKind::QaRunRecorded {
                run: QaRun {
                    id: QaRunId(runs),
                    tree: "t".into(),
                    started_at: stamp(START_MS + (i as i64 - 2) * step),
                    finished_at: stamp(START_MS + i as i64 * step),
                    gates: vec![],
                    decision: if runs.is_multiple_of(5) {
                        QaDecision::Fail
                    } else {
                        QaDecision::AutoMerge
                    },
                    reasons: vec![],
                    commit: None,
                    metrics: QaMetrics {
                        coverage: Some(80.0 + (runs % 10) as f64),
                        reproducibility: Some(99.0),
                        build_passed: Some(true),
                        tests_total: Some(400),
                        ..QaMetrics::default()
                    },
                    flaky: vec![],
                    promotion: false,
                    record_sha256: None,
                },
            },
            _ if i % 500 == 5 => EventKind::GitAction {
                action: "merge".into(),
                reference: "refs/heads/session/s/integration".into(),
                old: None,
                new: Some("abc".into()),
                source: Some(task),
                trigger: "save".into(),
                detail: "1 commit".into(),
            },
            _ if i % 2000 == 7 => {
                checkpoints += 1;
                EventKind::CheckpointCreated {
                    checkpoint: Checkpoint {
                        name: format!("checkpoint/2026112x-{checkpoints:03}"),
                        kind: CheckpointKind::Save,
                        commit: "abc".into(),
                        created_at: stamp(START_MS + i as i64 * step),
                        qa_run: Some(QaRunId(runs.max(1))),
                        summary: "save".into(),
                        restores: None,
                        tag_object: None,
                        previous: None,
                        tasks: vec![],
                        audit_ids: vec![],
                        undoes: None,
                    },
                }
            }
            _ => EventKind::AgentActivity {
                agent,
                events: 3,
                tokens: 1200,
                cost_micros: 2400,
                last_output: None,
                files: vec![],
                session_id: None,
            },
        };
        push(i, kind);
        i += 1;
    }
    let now = stamp(START_MS + n as i64 * step);
    (out, now)
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("OVERLORD_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (events, now) = history(n);
    let mut state = State::default();
    for e in &events {
        state.apply(e);
    }
    let config = MetricsConfig::default();
    let mut g = c.benchmark_group(format!("metrics_{n}_events"));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(2));
    g.bench_function("baseline_fold_into_state", |b| {
        b.iter(|| {
            let mut s = State::default();
            for e in &events {
                s.apply(e);
            }
            s.last_event_seq
        })
    });
    g.bench_function("compute_all_and_evaluate", |b| {
        b.iter(|| {
            let m = metrics::compute(&events, Window::All, &now).unwrap();
            metrics::evaluate(&m, &config, &Facts::default()).len()
        })
    });
    g.bench_function("compute_24h_and_evaluate", |b| {
        b.iter(|| {
            let m = metrics::compute(&events, Window::Last24h, &now).unwrap();
            metrics::evaluate(&m, &config, &Facts::default()).len()
        })
    });
    g.bench_function("per_checkpoint_all", |b| {
        b.iter(|| {
            metrics::per_checkpoint(&events, Window::All, &now)
                .unwrap()
                .len()
        })
    });
    // The running fold of every event, with its marks (record i + 1 is event i).
    let mut running = Running::default();
    let mut marks: Vec<Mark> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        marks.extend(running.push(i as u64 + 1, e));
    }
    let now_ms = metrics::parse_ms(&now).unwrap();
    // Nothing is stored here: every task's row is the fold's own.
    let rows = running.task_rows_since_stored();
    let attempts: std::collections::BTreeMap<String, u32> = rows
        .iter()
        .filter_map(|(t, r)| r.attempts.map(|n| (t.clone(), n)))
        .collect();
    assert_eq!(
        running.whole(rows.clone(), Window::All, &now, now_ms),
        metrics::compute(&events, Window::All, &now).unwrap()
    );
    let day = |window: Window| {
        let Plan::From { start } = running.plan(window, now_ms) else {
            unreachable!("no event after now")
        };
        let mark = marks
            .iter()
            .rev()
            .find(|m| m.max_at.is_none_or(|t| t < start));
        let mut fold = running.window_fold(mark, window, &now, now_ms, start);
        for e in &events[mark.map_or(0, |m| m.seq as usize)..] {
            fold.event(e);
        }
        fold.finish(&running, &attempts)
    };
    assert_eq!(
        day(Window::Last24h),
        metrics::compute(&events, Window::Last24h, &now).unwrap()
    );
    g.bench_function("running_all_and_evaluate", |b| {
        b.iter(|| {
            let m = running.whole(rows.clone(), Window::All, &now, now_ms);
            metrics::evaluate(&m, &config, &Facts::default()).len()
        })
    });
    g.bench_function("running_24h_and_evaluate", |b| {
        b.iter(|| {
            let m = day(Window::Last24h);
            metrics::evaluate(&m, &config, &Facts::default()).len()
        })
    });
    g.bench_function("running_per_checkpoint_all", |b| {
        b.iter(|| running.points(Window::All, now_ms).unwrap().len())
    });
    g.bench_function("daily_digest", |b| {
        b.iter(|| {
            digest::render(&events, &state, &now)
                .unwrap()
                .markdown
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

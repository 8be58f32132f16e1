//! The console's metrics pane: snapshots at 80×24 and 120×40 of figures computed from scripted
//! events (folded by the real reducer for the alerts, and by the real `metrics::compute` and
//! `metrics::per_checkpoint` for the charts), an empty store, tiny sizes, the window key through
//! the real keymap, stale answers dropped, and the worker reading a real store incrementally.

use overlord::metrics::Window;
use overlord::protocol::model::*;
use overlord::protocol::EventKind;
use overlord::tui::app::{App, Intent};
use overlord::tui::keymap::{parse_key, Context, Keymap};
use overlord::tui::metrics_source::{figures, EventCache, Figures, MetricsWorker, Request};
use overlord::tui::panes::metrics::{self as pane, MetricsView};
use overlord::tui::screen::{areas, Pane, Screen};
use overlord::tui::theme::{Slot, Theme};
use ratatui::layout::Rect;

use crate::metrics::activity;
use crate::tui_panes::{ctx, draw, screen_of, script, style_at, text, Script, NOW};

fn qa_run(id: u64, at: &str, coverage: f64, decision: QaDecision) -> EventKind {
    EventKind::QaRunRecorded {
        run: QaRun {
            id: QaRunId(id),
            tree: "t".into(),
            started_at: at.into(),
            finished_at: at.into(),
            gates: vec![],
            decision,
            reasons: vec![],
            commit: None,
            metrics: QaMetrics {
                coverage: Some(coverage),
                ..QaMetrics::default()
            },
            flaky: vec![],
            promotion: false,
            record_sha256: None,
        },
    }
}

fn checkpoint(name: &str, at: &str, run: u64) -> EventKind {
    EventKind::CheckpointCreated {
        checkpoint: Checkpoint {
            name: format!("checkpoint/{name}"),
            kind: CheckpointKind::Save,
            commit: "89abcde".into(),
            created_at: at.into(),
            qa_run: Some(QaRunId(run)),
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

fn alert(level: AlertLevel, key: &str, message: &str) -> EventKind {
    EventKind::MetricAlert {
        level,
        key: key.into(),
        message: message.into(),
        concern: None,
    }
}

/// The console's session (one checkpoint after QA-1 at 71.2%) and then: QA-2 fails at 78.4%,
/// QA-3 passes at 83%, checkpoint 002; QA-4 passes at 85.5%, checkpoint 003; a reviewer runs
/// ten minutes; concerns acknowledged and one resolved; three alerts raised, one cleared.
fn metrics_script() -> Script {
    let mut s = script();
    let t = |hm: &str| format!("2026-11-21T{hm}:00.000Z");
    s.at(
        &t("09:50"),
        "system",
        activity("implementer-2", 9_000, 50_000),
    )
    .at(
        &t("09:55"),
        "system",
        qa_run(2, &t("09:55"), 78.4, QaDecision::Fail),
    )
    .at(
        &t("10:02"),
        "system",
        qa_run(3, &t("10:02"), 83.0, QaDecision::AutoMerge),
    )
    .at(
        &t("10:03"),
        "system",
        checkpoint("20261121-002", &t("10:03"), 3),
    )
    .at(
        &t("10:00"),
        "system",
        EventKind::AgentRegistered {
            agent: Agent::new("reviewer-1", Role::Reviewer, "claude", &t("10:00")),
        },
    )
    .at(
        &t("10:01"),
        "system",
        EventKind::AgentStateChanged {
            agent: "reviewer-1".into(),
            state: AgentState::Running,
            task: Some("review".into()),
            detail: None,
            attempt: Some(1),
            session_id: None,
            until: None,
        },
    )
    .at(
        &t("10:04"),
        "system",
        activity("implementer-1", 4_000, 20_000),
    )
    .at(&t("10:05"), "system", activity("reviewer-1", 2_000, 8_000))
    .at(&t("10:06"), "system", activity("tester-1", 1_000, 4_000))
    .at(
        &t("10:05"),
        "human:ana",
        EventKind::ConcernAcknowledged { id: ConcernId(1) },
    )
    .at(
        &t("10:11"),
        "system",
        EventKind::AgentStateChanged {
            agent: "reviewer-1".into(),
            state: AgentState::Waiting,
            task: Some("review".into()),
            detail: None,
            attempt: None,
            session_id: None,
            until: None,
        },
    )
    .at(
        &t("10:12"),
        "system",
        qa_run(4, &t("10:12"), 85.5, QaDecision::AutoMerge),
    )
    .at(
        &t("10:13"),
        "system",
        checkpoint("20261121-003", &t("10:13"), 4),
    )
    .at(
        &t("10:15"),
        "human:ana",
        EventKind::ConcernResolved {
            id: ConcernId(1),
            note: None,
        },
    )
    .at(
        &t("10:22"),
        "human:ana",
        EventKind::ConcernAcknowledged { id: ConcernId(2) },
    )
    .at(
        &t("10:23"),
        "system",
        alert(
            AlertLevel::Warn,
            "coverage",
            "coverage 85.5% is within 5.0 points of the 80.0% minimum",
        ),
    )
    .at(
        &t("10:23"),
        "system",
        alert(
            AlertLevel::Alert,
            "qa_gate_failed",
            "the newest QA run failed: coverage",
        ),
    )
    .at(
        &t("10:24"),
        "system",
        alert(
            AlertLevel::Critical,
            "policy_breach",
            "1 change(s) of a protected branch outside Overlord: refs/heads/main: forced",
        ),
    )
    .at(
        &t("10:24"),
        "system",
        alert(
            AlertLevel::Alert,
            "budget",
            "spend $0.11 is over the $0.10 budget",
        ),
    )
    .at(
        &t("10:25"),
        "system",
        EventKind::MetricAlertCleared {
            key: "qa_gate_failed".into(),
        },
    );
    s
}

fn figures_of(s: &Script, window: Window) -> Figures {
    let events = s.log.events.iter().cloned().collect();
    figures(&EventCache::from_events(events), window, NOW).expect("NOW parses")
}

fn view_of(figures: Option<Figures>) -> MetricsView {
    MetricsView {
        window: figures.as_ref().map_or(Window::All, |f| f.window),
        figures,
        ..MetricsView::default()
    }
}

#[test]
fn the_series_and_figures_the_pane_draws_are_the_scripts() {
    let f = figures_of(&metrics_script(), Window::All);
    let cov: Vec<Option<f64>> = f.series.iter().map(|p| p.coverage).collect();
    assert_eq!(cov, [Some(71.2), Some(83.0), Some(85.5)]);
    let pass: Vec<Option<f64>> = f
        .series
        .iter()
        .map(|p| p.qa_pass_rate.map(|r| r.rate))
        .collect();
    assert_eq!(pass, [Some(1.0), Some(0.5), Some(1.0)]);
    let cost: Vec<Option<u64>> = f.series.iter().map(|p| p.cost_micros).collect();
    // The session's activity stamped 10:29:55 was logged before checkpoint 001 (stamped
    // 09:46): stretches follow the log's order, not the stamps.
    assert_eq!(cost, [Some(31_250), Some(50_000), Some(32_000)]);
    // Nothing was spent before the first checkpoint of a log without that activity: no data,
    // not a zero.
    let mut quiet = Script::new();
    quiet.at(
        "2026-11-21T09:00:00.000Z",
        "system",
        checkpoint("20261121-001", "2026-11-21T09:00:00.000Z", 1),
    );
    let f = figures_of(&quiet, Window::All);
    assert_eq!(f.series[0].cost_micros, None);
    assert_eq!(f.series[0].coverage, None);
}

#[test]
fn metrics_pane_snapshots() {
    let s = metrics_script();
    let theme = Theme::dark();
    let view = view_of(Some(figures_of(&s, Window::All)));
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let buf = draw(w, h, |a, b| {
            pane::render(&ctx(&s.state, &theme, true), &view, a, b)
        });
        let t = text(&buf);
        insta::assert_snapshot!(format!("metrics_{w}x{h}"), t);
        // Alerts most severe first, each in its level's slot; the cleared one is gone.
        let critical = t.find("CRITICAL").expect("critical");
        let alert = t.find("ALERT").expect("alert");
        let warn = t.find("WARN").expect("warn");
        assert!(critical < alert && alert < warn, "{t}");
        assert!(!t.contains("newest QA run failed"), "{t}");
        assert_eq!(
            style_at(&buf, "CRITICAL", "CRITICAL").bg,
            theme.style(Slot::Critical).bg
        );
        assert_eq!(
            style_at(&buf, "ALERT", "ALERT").fg,
            theme.style(Slot::Error).fg
        );
        assert_eq!(
            style_at(&buf, "WARN", "WARN").fg,
            theme.style(Slot::Warn).fg
        );
        // The sparklines and bars carry their slots; a role with no running time says so.
        let row = t.lines().position(|l| l.starts_with("┃coverage")).unwrap();
        let spark = buf[(23, row as u16)].style();
        assert_eq!(spark.fg, theme.style(Slot::Ok).fg, "{t}");
        assert_eq!(
            style_at(&buf, "reviewer", "█").fg,
            theme.style(Slot::Running).fg
        );
        assert!(t.contains("85.5%") && t.contains("no data"), "{t}");
        assert!(t.contains("20261121-001 → 20261121-003"), "{t}");
        assert_eq!(
            style_at(&buf, "  critical", "critical").bg,
            theme.style(Slot::Critical).bg
        );
    }
}

#[test]
fn metrics_pane_on_an_empty_store_says_no_data_everywhere() {
    let s = Script::new();
    let theme = Theme::dark();
    let view = view_of(Some(figures_of(&s, Window::All)));
    let buf = draw(80, 24, |a, b| {
        pane::render(&ctx(&s.state, &theme, true), &view, a, b)
    });
    let t = text(&buf);
    insta::assert_snapshot!("metrics_empty_80x24", t);
    assert!(t.contains("none in force"), "{t}");
    assert!(t.contains("no checkpoint in the window"), "{t}");
    // Three series, the roles and three severities × two latencies.
    assert_eq!(t.matches("no data").count(), 3 + 1 + 6, "{t}");
    assert_eq!(
        style_at(&buf, "coverage", "no data").fg,
        theme.style(Slot::Dim).fg
    );
}

#[test]
fn metrics_pane_before_the_figures_on_an_error_and_at_tiny_sizes() {
    let s = metrics_script();
    let theme = Theme::dark();
    let full = view_of(Some(figures_of(&s, Window::All)));
    let computing = MetricsView {
        loading: true,
        ..MetricsView::default()
    };
    let failed = MetricsView {
        error: Some("database is locked".into()),
        ..MetricsView::default()
    };
    let t = text(&draw(80, 24, |a, b| {
        pane::render(&ctx(&s.state, &theme, true), &computing, a, b)
    }));
    assert!(
        t.contains("computing the figures") && t.contains("CRITICAL"),
        "the alerts come from the state, the figures may come later: {t}"
    );
    let buf = draw(80, 24, |a, b| {
        pane::render(&ctx(&s.state, &theme, true), &failed, a, b)
    });
    assert_eq!(
        style_at(&buf, "database is locked", "cannot").fg,
        theme.style(Slot::Error).fg
    );
    // Another window asked for: the figures shown say which window they are.
    let switching = MetricsView {
        window: Window::Last24h,
        loading: true,
        ..full.clone()
    };
    let t = text(&draw(80, 24, |a, b| {
        pane::render(&ctx(&s.state, &theme, true), &switching, a, b)
    }));
    assert!(t.contains("window all · 24h computing…"), "{t}");
    let empty = Script::new();
    for state in [&s.state, &empty.state] {
        for view in [&full, &computing, &failed] {
            for (w, h) in [
                (0u16, 0u16),
                (1, 1),
                (10, 3),
                (20, 5),
                (40, 10),
                (99, 12),
                (100, 6),
                (120, 9),
            ] {
                draw(w, h, |a, b| {
                    pane::render(&ctx(state, &theme, true), view, a, b)
                });
            }
        }
    }
}

#[test]
fn the_metrics_tab_in_the_whole_screen() {
    let s = metrics_script();
    let mut screen = Screen {
        focus: Pane::Metrics,
        ..Screen::default()
    };
    screen.metrics = view_of(Some(figures_of(&s, Window::All)));
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let (t, _) = screen_of(&s, &screen, w, h);
        insta::assert_snapshot!(format!("screen_metrics_{w}x{h}"), t);
    }
    // Full size with its tab, also on a roomy terminal; a click on the tab lands on it.
    let a = areas(&screen, Rect::new(0, 0, 160, 48)).unwrap();
    assert_eq!(a.panes.len(), 1);
    assert_eq!(a.panes[0].0, Pane::Metrics);
    let tab = a
        .tabs
        .as_ref()
        .unwrap()
        .iter()
        .find(|(p, _)| *p == Pane::Metrics)
        .unwrap()
        .1;
    assert_eq!(a.pane_at(tab.x + 1, tab.y), Some(Pane::Metrics));
    // At 80 columns every tab still fits.
    let a = areas(&Screen::default(), Rect::new(0, 0, 80, 24)).unwrap();
    let tab = a
        .tabs
        .as_ref()
        .unwrap()
        .iter()
        .find(|(p, _)| *p == Pane::Metrics)
        .unwrap()
        .1;
    assert_eq!(tab.width, "Metrics".len() as u16 + 2);
}

/// Presses a key as the runner does (through the real keymap and its layers).
fn press(app: &mut App, keys: &Keymap, key: &str) -> Vec<Intent> {
    match keys.resolve(&app.layers(), parse_key(key).unwrap()) {
        Some(action) => app.on_action(action),
        None => Vec::new(),
    }
}

fn load(window: Window, generation: u64, after_events: bool) -> Intent {
    Intent::LoadMetrics {
        window,
        generation,
        after_events,
    }
}

#[test]
fn the_window_key_cycles_the_window_and_only_the_latest_answer_counts() {
    let s = metrics_script();
    let keys = Keymap::defaults().0;
    let mut app = App::new(s.state.clone());
    // `w` means nothing outside the metrics pane.
    assert!(press(&mut app, &keys, "w").is_empty());
    assert_eq!(app.screen.metrics.window, Window::All);
    // `8` shows the pane and asks for its figures.
    assert_eq!(
        press(&mut app, &keys, "8"),
        vec![load(Window::All, 1, false)]
    );
    assert_eq!(app.screen.focus, Pane::Metrics);
    assert_eq!(app.layers(), vec![Context::Metrics, Context::Global]);
    assert_eq!(
        press(&mut app, &keys, "w"),
        vec![load(Window::Last24h, 2, false)]
    );
    assert_eq!(
        press(&mut app, &keys, "w"),
        vec![load(Window::Last7d, 3, false)]
    );
    assert_eq!(
        press(&mut app, &keys, "w"),
        vec![load(Window::SinceCheckpoint, 4, false)]
    );
    // The answer to an older request is dropped; the latest is shown.
    app.on_metrics_loaded(3, Ok(figures_of(&s, Window::Last7d)));
    assert!(app.screen.metrics.figures.is_none() && app.screen.metrics.loading);
    app.on_metrics_loaded(4, Ok(figures_of(&s, Window::SinceCheckpoint)));
    assert!(!app.screen.metrics.loading);
    assert_eq!(
        app.screen.metrics.figures.as_ref().map(|f| f.window),
        Some(Window::SinceCheckpoint)
    );
    assert_eq!(
        press(&mut app, &keys, "w"),
        vec![load(Window::All, 5, false)]
    );
    // Events while it computes: an answer newer than the figures shown is shown even though
    // a newer request is pending (a steady stream of events cannot starve the pane); an
    // answer older than the figures shown is dropped.
    app.on_event(overlord::protocol::Event {
        seq: app.state.last_event_seq + 1,
        at: NOW.into(),
        command_seq: None,
        actor: "system".into(),
        kind: activity("implementer-1", 1, 1),
    });
    assert_eq!(app.screen.metrics.generation, 6);
    app.on_metrics_loaded(5, Ok(figures_of(&s, Window::All)));
    assert_eq!(
        app.screen.metrics.figures.as_ref().map(|f| f.window),
        Some(Window::All)
    );
    assert!(app.screen.metrics.loading, "6 is still to come");
    app.on_metrics_loaded(6, Ok(figures_of(&s, Window::All)));
    assert!(!app.screen.metrics.loading);
    app.on_metrics_loaded(5, Err("late".into()));
    assert_eq!(app.screen.metrics.error, None);
    // An error keeps the figures already shown.
    assert_eq!(
        press(&mut app, &keys, "w"),
        vec![load(Window::Last24h, 7, false)]
    );
    app.on_metrics_loaded(7, Err("database is locked".into()));
    assert!(app.screen.metrics.figures.is_some());
    assert_eq!(
        app.screen.metrics.error.as_deref(),
        Some("database is locked")
    );
    // The footer's hints and the help come from the keymap.
    let hints = keys.hints(Context::Metrics);
    assert!(hints
        .iter()
        .any(|(k, what)| k == "w" && what.contains("24h/7d/checkpoint/all")));
    assert!(keys.help().iter().any(|(c, _)| *c == Context::Metrics));
}

#[test]
fn events_the_figures_read_recompute_the_shown_pane_only() {
    let s = metrics_script();
    let mut app = App::new(s.state.clone());
    let mut seq = app.state.last_event_seq;
    let mut event = |kind: EventKind| {
        seq += 1;
        overlord::protocol::Event {
            seq,
            at: NOW.into(),
            command_seq: None,
            actor: "system".into(),
            kind,
        }
    };
    // Hidden: nothing to compute.
    assert!(app
        .on_event(event(activity("implementer-1", 1, 1)))
        .is_empty());
    assert_eq!(app.focus(Pane::Metrics), vec![load(Window::All, 1, false)]);
    // Shown: events it reads ask again (the worker spaces those out); others do not.
    assert_eq!(
        app.on_event(event(activity("implementer-1", 1, 1))),
        vec![load(Window::All, 2, true)]
    );
    assert!(app
        .on_event(event(EventKind::MetricAlertCleared {
            key: "budget".into()
        }))
        .is_empty());
    // The clock's refresh, only while shown.
    assert_eq!(app.refresh_metrics(), vec![load(Window::All, 3, true)]);
    app.focus(Pane::Swarm);
    assert!(app.refresh_metrics().is_empty());
}

#[test]
fn the_worker_reads_a_real_store_incrementally_and_answers_the_latest_request() {
    use overlord::store::Store;
    let repo = crate::common::Repo::new();
    let ws = repo.workspace();
    ws.init().expect("init");
    let events: Vec<_> = metrics_script().log.events.into_iter().collect();
    let (first, rest) = events.split_at(events.len() / 2);
    let append = |events: &[overlord::protocol::Event]| crate::common::append_events(&ws, events);
    append(first);
    // The cache reads only what is new each time.
    let reader = Store::open_without_repair(&ws.store_paths()).expect("reader");
    let mut cache = EventCache::default();
    assert_eq!(cache.catch_up(&reader).unwrap(), first.len());
    assert_eq!(cache.catch_up(&reader).unwrap(), 0);
    append(rest);
    assert_eq!(cache.catch_up(&reader).unwrap(), rest.len());

    // The worker: requests in a burst are answered once, for the newest.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker =
        MetricsWorker::spawn_with_clock(ws.store_paths(), tx, || NOW.to_string()).expect("worker");
    for (generation, window) in [(1, Window::Last24h), (2, Window::All)] {
        worker.request(Request {
            window,
            generation,
            after_events: false,
        });
    }
    let (generation, figures) = rx.blocking_recv().expect("an answer");
    assert_eq!(generation, 2);
    let figures = figures.expect("figures");
    assert_eq!(figures.window, Window::All);
    assert_eq!(figures.now, NOW);
    assert_eq!(figures.series.len(), 3);
    assert_eq!(figures.metrics.qa.runs.len(), 4);
    assert!(rx.try_recv().is_err(), "one answer for the burst");
}

#[test]
fn the_activity_log_words_alerts_the_digest_and_the_kill_switch() {
    use overlord::protocol::model::ConcernId;
    use overlord::tui::panes::activity::describe;
    let ev = |kind: EventKind| overlord::protocol::Event {
        seq: 1,
        at: NOW.into(),
        command_seq: None,
        actor: "metrics".into(),
        kind,
    };
    assert_eq!(
        describe(&ev(EventKind::MetricAlert {
            level: AlertLevel::Critical,
            key: "audit_chain".into(),
            message: "the audit trail failed verification".into(),
            concern: Some(ConcernId(4)),
        })),
        "CRITICAL audit_chain: the audit trail failed verification (C-4)"
    );
    assert_eq!(
        describe(&ev(EventKind::MetricAlertCleared {
            key: "coverage".into()
        })),
        "alert coverage cleared"
    );
    assert_eq!(
        describe(&ev(EventKind::DispatchHalted {
            reason: Some("CRITICAL alert audit_chain: …".into())
        })),
        "kill switch on: CRITICAL alert audit_chain: …"
    );
    assert_eq!(
        describe(&ev(EventKind::DailyReportWritten {
            date: "2026-11-21".into(),
            path: "reports/DAILY_2026-11-21.md".into(),
            through_seq: 3,
            commit: None,
            summary: "Daily digest 2026-11-21: 0 merges".into(),
        })),
        "Daily digest 2026-11-21: 0 merges — reports/DAILY_2026-11-21.md"
    );
    // An agent's CLI process, named with its agent (not "agent process started").
    assert_eq!(
        describe(&ev(EventKind::AgentProcessStarted {
            agent: "implementer-1".into(),
            process: overlord::protocol::model::AgentProcess {
                pid: 4242,
                start_ticks: 7,
                task: Some("a".into()),
                worktree: None,
            },
        })),
        "implementer-1's CLI started (pid 4242) on a"
    );
    assert_eq!(
        describe(&ev(EventKind::AgentProcessEnded {
            agent: "implementer-1".into(),
            pid: 4242,
        })),
        "implementer-1's CLI (pid 4242) and all it started have stopped"
    );
}

//! Snapshots of the console's panes at 80×24 and 120×40, built from scripted event sequences
//! folded by the real reducer (`State::apply`) and drawn into a `TestBackend` buffer; the
//! colour-carrying cells are checked against the theme's slots.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use overlord::protocol::model::*;
use overlord::protocol::{Event, EventKind, State};
use overlord::tui::panes::{self, Ctx};
use overlord::tui::theme::{Slot, Theme};

pub const NOW: &str = "2026-11-21T10:30:00.000Z";

pub struct Script {
    pub state: State,
    seq: u64,
    pub log: panes::activity::Log,
}

impl Script {
    pub fn new() -> Script {
        Script {
            state: State::default(),
            seq: 0,
            log: Default::default(),
        }
    }

    pub fn at(&mut self, at: &str, actor: &str, kind: EventKind) -> &mut Script {
        self.seq += 1;
        let e = Event {
            seq: self.seq,
            at: at.into(),
            command_seq: None,
            actor: actor.into(),
            kind,
        };
        self.state.apply(&e);
        self.log.push(e);
        self
    }
}

fn task(id: &str, role: Role, deps: &[&str], title: &str) -> Task {
    Task {
        id: id.into(),
        title: title.into(),
        description: String::new(),
        role,
        priority: "normal".into(),
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
        acceptance_criteria: vec![],
        acceptance_checks: vec![],
        expected_artifacts: vec![],
        status: TaskStatus::Todo,
        parent_id: None,
        is_temporary: false,
        max_debug_attempts: None,
        branch_reason: None,
        debug_instructions: None,
        timeout_seconds: None,
        max_retries: None,
        owner: None,
        commentary: vec![],
    }
}

fn concern(id: u64, sev: Severity, from: Role, at: &str, summary: &str) -> Concern {
    Concern {
        raised_by: Some(format!("{from}-1")),
        ..Concern::raised(
            ConcernId(id),
            from,
            from.escalates_to(),
            sev,
            "spec_ambiguity",
            summary,
            at,
        )
    }
}

fn gate(name: &str, outcome: GateOutcome, measured: &str, threshold: Option<&str>) -> GateResult {
    GateResult {
        gate: name.into(),
        threshold: threshold.map(str::to_string),
        measured: Some(measured.into()),
        outcome,
        reason: None,
        required: true,
        errored: false,
    }
}

/// A session in full swing: a plan, agents in every state, concerns, a QA run, checkpoints.
pub fn session() -> State {
    script().state
}

pub fn script() -> Script {
    let mut s = Script::new();
    let plan = Plan {
        id: "arith-1".into(),
        title: "Arithmetic library".into(),
        source: "plan.json".into(),
        imported_at: "2026-11-21T09:00:00.000Z".into(),
        phases: vec![Phase {
            id: "phase-1".into(),
            name: "Core functions".into(),
            tasks: vec![
                task("design", Role::Designer, &[], "Design spec"),
                task("impl-arith", Role::Implementer, &["design"], "add and sub"),
                task("impl-big", Role::Implementer, &["design"], "big numbers"),
                task(
                    "tests",
                    Role::Tester,
                    &["impl-arith", "impl-big"],
                    "Test plan and tests",
                ),
            ],
            promoted_at: None,
        }],
    };
    s.at(
        "2026-11-21T09:00:00.000Z",
        "cli:ana",
        EventKind::PlanImported { plan },
    );
    for (i, (id, role, adapter)) in [
        ("designer-1", Role::Designer, "claude"),
        ("implementer-1", Role::Implementer, "codex"),
        ("implementer-2", Role::Implementer, "codex"),
        ("tester-1", Role::Tester, "gemini"),
    ]
    .iter()
    .enumerate()
    {
        s.at(
            &format!("2026-11-21T09:0{}:00.000Z", i + 1),
            "system",
            EventKind::AgentRegistered {
                agent: Agent::new(id, *role, adapter, "2026-11-21T09:01:00.000Z"),
            },
        );
    }
    let state = |agent: &str, st: AgentState, task: Option<&str>, until: Option<&str>| {
        EventKind::AgentStateChanged {
            agent: agent.into(),
            state: st,
            task: task.map(str::to_string),
            detail: None,
            attempt: Some(1),
            session_id: None,
            until: until.map(str::to_string),
        }
    };
    s.at(
        "2026-11-21T09:10:00.000Z",
        "system",
        state("designer-1", AgentState::Done, None, None),
    );
    s.at(
        "2026-11-21T09:10:00.000Z",
        "system",
        EventKind::TaskStatusChanged {
            task: "design".into(),
            status: TaskStatus::Done,
            note: None,
        },
    );
    s.at(
        "2026-11-21T10:29:30.000Z",
        "system",
        state(
            "implementer-1",
            AgentState::Running,
            Some("impl-arith"),
            None,
        ),
    );
    s.at(
        "2026-11-21T10:29:55.000Z",
        "system",
        EventKind::AgentActivity {
            agent: "implementer-1".into(),
            events: 42,
            tokens: 12_500,
            cost_micros: 31_250,
            last_output: Some("▸ Bash: cargo test --lib".into()),
            files: vec!["src/arith.rs".into(), "src/lib.rs".into()],
            session_id: Some("thread-1".into()),
        },
    );
    // Quiet for 20 minutes: stalled.
    s.at(
        "2026-11-21T10:10:00.000Z",
        "system",
        state("implementer-2", AgentState::Running, Some("impl-big"), None),
    );
    s.at(
        "2026-11-21T10:29:00.000Z",
        "system",
        state(
            "tester-1",
            AgentState::RateLimited,
            Some("tests"),
            Some("2026-11-21T10:31:30.000Z"),
        ),
    );
    s.at(
        "2026-11-21T10:00:00.000Z",
        "agent:implementer-1",
        EventKind::ConcernRaised {
            concern: concern(
                1,
                Severity::Warning,
                Role::Implementer,
                "2026-11-21T10:00:00.000Z",
                "Should sub() saturate at zero?",
            ),
        },
    );
    s.at(
        "2026-11-21T10:20:00.000Z",
        "agent:tester-1",
        EventKind::ConcernRaised {
            concern: concern(
                2,
                Severity::Critical,
                Role::Tester,
                "2026-11-21T10:20:00.000Z",
                "Test data contains a secret \u{1b}[2J\u{1b}[31mtoken",
            ),
        },
    );
    s.at(
        "2026-11-21T10:25:00.000Z",
        "agent:implementer-2",
        EventKind::ConcernRaised {
            concern: concern(
                3,
                Severity::Info,
                Role::Implementer,
                "2026-11-21T10:25:00.000Z",
                "Renamed a helper",
            ),
        },
    );
    let run = QaRun {
        id: QaRunId(1),
        tree: "abc".into(),
        started_at: "2026-11-21T09:40:00.000Z".into(),
        finished_at: "2026-11-21T09:45:00.000Z".into(),
        gates: vec![
            gate("build", GateOutcome::Pass, "ok", Some("must pass")),
            gate("tests", GateOutcome::Pass, "12/12 passed", Some("all pass")),
            gate("coverage", GateOutcome::Fail, "71.2%", Some("≥ 80%")),
            gate("lint", GateOutcome::NotMeasured, "no linter", None),
        ],
        decision: QaDecision::RequireHuman,
        reasons: vec!["gate failed: coverage 71.2% < 80%".into()],
        commit: None,
        metrics: QaMetrics {
            coverage: Some(71.2),
            pass_rate: Some(100.0),
            ..QaMetrics::default()
        },
        flaky: vec![],
        promotion: false,
        record_sha256: None,
    };
    s.at(
        "2026-11-21T09:45:00.000Z",
        "system",
        EventKind::QaRunRecorded { run },
    );
    s.at(
        "2026-11-21T09:46:00.000Z",
        "system",
        EventKind::CheckpointCreated {
            checkpoint: Checkpoint {
                name: "checkpoint/20261121-001".into(),
                kind: CheckpointKind::Save,
                commit: "1234567".into(),
                created_at: "2026-11-21T09:46:00.000Z".into(),
                qa_run: Some(QaRunId(1)),
                summary: "design".into(),
                restores: None,
                tag_object: None,
                previous: None,
                tasks: vec!["design".into()],
                audit_ids: vec![],
                undoes: None,
            },
        },
    );
    s.at(
        "2026-11-21T10:05:00.000Z",
        "system",
        EventKind::ApprovalRequested {
            approval: Approval::pending(
                ApprovalId(2),
                ApprovalKind::TestPlan,
                "tests".into(),
                "test_plan of tests: Test plan and tests".into(),
                "system".into(),
                "2026-11-21T10:05:00.000Z".into(),
            ),
        },
    );
    s
}

pub fn ctx<'a>(state: &'a State, theme: &'a Theme, focused: bool) -> Ctx<'a> {
    Ctx {
        state,
        theme,
        now: overlord::core::parse_stamp(NOW).unwrap(),
        focused,
        stall_secs: 120,
    }
}

pub fn draw(w: u16, h: u16, f: impl Fn(Rect, &mut Buffer)) -> Buffer {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    f(area, &mut buf);
    buf
}

pub fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut out = String::new();
    for y in 0..a.height {
        let mut line = String::new();
        for x in 0..a.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The style of the first cell whose row contains `needle`, at the column where `cell`
/// starts in that row.
pub fn style_at(buf: &Buffer, needle: &str, cell: &str) -> ratatui::style::Style {
    let t = text(buf);
    for (y, line) in t.lines().enumerate() {
        if line.contains(needle) {
            let col = line.find(cell).expect("cell in row");
            let x = line[..col].chars().count() as u16;
            return buf[(x, y as u16)].style();
        }
    }
    panic!("no row with {needle}:\n{t}");
}

macro_rules! snapshots {
    ($name:ident, $render:expr) => {
        #[test]
        fn $name() {
            let state = session();
            let theme = Theme::dark();
            for (w, h) in [(80u16, 24u16), (120, 40)] {
                let buf = draw(w, h, |area, buf| {
                    let c = ctx(&state, &theme, true);
                    $render(&c, area, buf)
                });
                insta::assert_snapshot!(format!("{}_{}x{}", stringify!($name), w, h), text(&buf));
            }
        }
    };
}

snapshots!(swarm, |c: &Ctx, a, b| panes::swarm::render(
    c,
    &Default::default(),
    a,
    b
));
snapshots!(concerns, |c: &Ctx, a, b| panes::concerns::render(
    c,
    &Default::default(),
    a,
    b
));
snapshots!(plan, |c: &Ctx, a, b| panes::plan::render(
    c,
    &Default::default(),
    a,
    b
));
snapshots!(qa, |c: &Ctx, a, b| panes::qa::render(
    c,
    &Default::default(),
    a,
    b
));
snapshots!(timeline, |c: &Ctx, a, b| panes::timeline::render(
    c,
    &Default::default(),
    a,
    b
));

#[test]
fn states_and_outcomes_carry_their_theme_slots() {
    let state = session();
    let theme = Theme::dark();
    let buf = draw(120, 40, |a, b| {
        panes::swarm::render(&ctx(&state, &theme, true), &Default::default(), a, b)
    });
    assert_eq!(
        style_at(&buf, "implementer-1", "running").fg,
        theme.style(Slot::Running).fg
    );
    assert_eq!(
        style_at(&buf, "implementer-2", "stalled").bg,
        theme.style(Slot::Stalled).bg
    );
    let t = text(&buf);
    assert!(t.contains("rate-limited 1m"), "the countdown: {t}");
    let buf = draw(120, 40, |a, b| {
        panes::qa::render(&ctx(&state, &theme, false), &Default::default(), a, b)
    });
    assert_eq!(
        style_at(&buf, "coverage", "fail").fg,
        theme.style(Slot::GateFail).fg
    );
    assert_eq!(
        style_at(&buf, "  build", "pass").fg,
        theme.style(Slot::GatePass).fg
    );
    assert_eq!(
        style_at(&buf, "lint", "not measured").fg,
        theme.style(Slot::GateNotMeasured).fg
    );
    let buf = draw(120, 40, |a, b| {
        panes::concerns::render(&ctx(&state, &theme, false), &Default::default(), a, b)
    });
    assert_eq!(
        style_at(&buf, "C-2", "critical").bg,
        theme.style(Slot::Critical).bg
    );
}

#[test]
fn escape_sequences_from_agents_are_neutralized() {
    let state = session();
    let theme = Theme::dark();
    let buf = draw(200, 10, |a, b| {
        panes::concerns::render(&ctx(&state, &theme, false), &Default::default(), a, b)
    });
    let t = text(&buf);
    assert!(!t.contains('\u{1b}'), "{t:?}");
    assert!(t.contains("secret ␛[2J␛[31mtoken"), "{t}");
}

#[test]
fn panes_survive_tiny_areas_and_an_empty_state() {
    let theme = Theme::dark();
    let empty = State::default();
    let full = session();
    for state in [&empty, &full] {
        for (w, h) in [(0u16, 0u16), (1, 1), (10, 3), (20, 5), (80, 24)] {
            draw(w, h, |a, b| {
                let c = ctx(state, &theme, true);
                panes::swarm::render(&c, &Default::default(), a, b);
                panes::concerns::render(&c, &Default::default(), a, b);
                panes::plan::render(&c, &Default::default(), a, b);
                panes::qa::render(&c, &Default::default(), a, b);
                panes::timeline::render(&c, &Default::default(), a, b);
            });
        }
    }
}

fn hints() -> Vec<(String, String)> {
    [
        ("q", "quit"),
        ("tab", "next pane"),
        ("S", "save"),
        ("/", "command"),
        ("?", "help"),
    ]
    .iter()
    .map(|(k, w)| (k.to_string(), w.to_string()))
    .collect()
}

fn screen_text(screen: &overlord::tui::screen::Screen, w: u16, h: u16) -> (String, Buffer) {
    screen_of(&script(), screen, w, h)
}

/// The whole screen over the state a script built.
pub fn screen_of(
    s: &Script,
    screen: &overlord::tui::screen::Screen,
    w: u16,
    h: u16,
) -> (String, Buffer) {
    let theme = Theme::dark();
    // The footer names the keys of the top layer, as the runner's hints do.
    let hints = if screen.confirm.is_some() {
        vec![
            ("y/enter".to_string(), "confirm".to_string()),
            ("n/esc/ctrl-c".to_string(), "cancel".to_string()),
        ]
    } else {
        hints()
    };
    let help = vec![("global".to_string(), hints.clone())];
    let raw = vec!["{\"type\":\"item.completed\"}".to_string()];
    let frame = overlord::tui::screen::Frame {
        state: &s.state,
        theme: &theme,
        now: overlord::core::parse_stamp(NOW).unwrap(),
        log: &s.log,
        raw: &raw,
        hints: &hints,
        help: &help,
        stall_secs: 120,
        decide: Default::default(),
    };
    let buf = draw(w, h, |a, b| {
        overlord::tui::screen::render(screen, &frame, a, b)
    });
    (text(&buf), buf)
}

#[test]
fn the_whole_screen() {
    use overlord::tui::screen::{Confirm, Pane, Screen};
    let mut screen = Screen::default();
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let (t, _) = screen_text(&screen, w, h);
        insta::assert_snapshot!(format!("screen_{w}x{h}"), t);
    }
    screen.focus = Pane::Activity;
    let (t, _) = screen_text(&screen, 120, 40);
    insta::assert_snapshot!("screen_activity_focused_120x40", t);
    screen.confirm = Some(Confirm {
        title: "Save".into(),
        lines: vec![
            "integrate impl-arith, impl-big into session/s1/integration".into(),
            "then run the QA gates and, on auto_merge, move main".into(),
        ],
    });
    screen.command = None;
    screen.reply = Some((false, "C-9: unknown concern".into()));
    let (t, buf) = screen_text(&screen, 80, 24);
    insta::assert_snapshot!("screen_confirm_80x24", t);
    let theme = Theme::dark();
    assert_eq!(style_at(&buf, "C-9", "C-9").fg, theme.style(Slot::Error).fg);
    let (t, _) = screen_text(&screen, 30, 8);
    assert!(t.contains("needs at least") && t.contains("40×10"), "{t}");
}

#[test]
fn the_diff_pane_in_the_whole_screen() {
    use overlord::tui::diff_source::DiffSource;
    use overlord::tui::diff_view::DiffView;
    use overlord::tui::screen::{Pane, Screen};
    let mut screen = Screen {
        focus: Pane::Diff,
        ..Screen::default()
    };
    // Nothing chosen yet: how to choose.
    let (t, _) = screen_text(&screen, 80, 24);
    assert!(t.contains("d on an agent shows its task's diff"), "{t}");
    screen.diff.source = Some(DiffSource::Task {
        task: "impl-arith".into(),
        main: "main".into(),
    });
    screen.diff.loading = true;
    let (t, _) = screen_text(&screen, 80, 24);
    assert!(
        t.contains("loading the diff") && t.contains("task impl-arith vs main"),
        "{t}"
    );
    screen.diff.loading = false;
    screen.diff.view = Some(DiffView::from_texts(
        "src/lib.rs",
        "pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n",
        "pub fn add(a: i128, b: i128) -> i128 {\n    a + b\n}\n\npub fn sub(a: i128, b: i128) -> i128 {\n    a - b\n}\n",
    ));
    let theme = Theme::dark();
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let (t, buf) = screen_text(&screen, w, h);
        insta::assert_snapshot!(format!("screen_diff_{w}x{h}"), t);
        // Colour matters here: added lines and changed words carry the diff slots.
        let added = style_at(&buf, "+pub fn sub", "+pub fn sub");
        assert_eq!(added.fg, theme.style(Slot::DiffAdd).fg, "{t}");
        let word = style_at(&buf, "+pub fn add", "i128");
        assert_eq!(word.bg, theme.style(Slot::DiffAddWordBg).bg, "{t}");
        let removed = style_at(&buf, "-pub fn add", "-pub fn add");
        assert_eq!(removed.fg, theme.style(Slot::DiffDelete).fg, "{t}");
    }
    screen.diff.view = None;
    screen.diff.error = Some("no integration branch yet: Save creates one".into());
    let (t, buf) = screen_text(&screen, 80, 24);
    assert_eq!(
        style_at(&buf, "no integration branch", "no integration").fg,
        theme.style(Slot::Error).fg
    );
    assert!(t.contains("Save creates one"), "{t}");
}

#[test]
fn concern_details_and_the_save_progress_overlays() {
    use overlord::tui::screen::{Pane, Screen};
    let screen = Screen {
        focus: Pane::Concerns,
        details: true,
        ..Screen::default()
    };
    let (t, _) = screen_text(&screen, 120, 40);
    insta::assert_snapshot!("screen_concern_details_120x40", t);

    // A Save in progress: the steps so far, the QA gates as they run.
    let mut s = script();
    s.at(
        "2026-11-21T10:59:00Z",
        "console:alice",
        EventKind::OperationStarted {
            operation: overlord::protocol::model::Operation {
                id: 2,
                kind: overlord::protocol::model::OperationKind::Save,
                requested_by: "console:alice".into(),
                started_at: "2026-11-21T10:59:00Z".into(),
                audit_id: 40,
                main_before: "1234567".into(),
                tasks: Vec::new(),
                held: Vec::new(),
                rollback: None,
                publish: None,
                promotion: None,
                steps: Vec::new(),
            },
        },
    );
    for (step, detail) in [
        ("frozen", "task dispatch waits"),
        ("merged", "impl-arith: 2 commits"),
    ] {
        s.at(
            "2026-11-21T10:59:01Z",
            "system",
            EventKind::OperationStep {
                id: 2,
                step: step.into(),
                detail: detail.into(),
            },
        );
    }
    let screen = Screen {
        progress: true,
        ..Screen::default()
    };
    let (t, buf) = screen_of(&s, &screen, 80, 24);
    insta::assert_snapshot!("screen_save_progress_80x24", t);
    assert!(t.contains("✓ frozen") && t.contains("▸ merged"), "{t}");
    let theme = Theme::dark();
    assert_eq!(
        style_at(&buf, "▸ merged", "▸").fg,
        theme.style(Slot::Running).fg
    );
}

#[test]
fn a_click_lands_on_the_pane_or_tab_under_it() {
    use overlord::tui::screen::{areas, Pane, Screen};
    let screen = Screen::default();
    // The grid: the concerns pane is top right, the activity pane at the bottom.
    let a = areas(&screen, Rect::new(0, 0, 160, 48)).unwrap();
    assert_eq!(a.pane_at(150, 3), Some(Pane::Concerns));
    assert_eq!(a.pane_at(2, 45), Some(Pane::Activity));
    assert_eq!(a.pane_at(2, 0), None, "the status line");
    // Tabs: each title is where its pane is chosen.
    let a = areas(&screen, Rect::new(0, 0, 80, 24)).unwrap();
    let t = a.tabs.as_ref().unwrap();
    let diff = t.iter().find(|(p, _)| *p == Pane::Diff).unwrap().1;
    assert_eq!(a.pane_at(diff.x + 1, diff.y), Some(Pane::Diff));
    assert!(areas(&screen, Rect::new(0, 0, 20, 5)).is_none());
}

#[test]
fn activity() {
    let s = script();
    let theme = Theme::dark();
    let raw: Vec<String> = vec![
        "{\"type\":\"thread.started\",\"thread_id\":\"0199\"}".into(),
        "plain text with \u{1b}[2J an escape".into(),
    ];
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let buf = draw(w, h, |a, b| {
            let c = ctx(&s.state, &theme, true);
            panes::activity::render(&c, &Default::default(), &s.log, &[], a, b)
        });
        insta::assert_snapshot!(format!("activity_{w}x{h}"), text(&buf));
        // The selected agent's raw output, neutralized.
        let view = panes::activity::ActivityView {
            agent: Some("implementer-1".into()),
            raw: true,
            ..Default::default()
        };
        let buf = draw(w, h, |a, b| {
            panes::activity::render(&ctx(&s.state, &theme, true), &view, &s.log, &raw, a, b)
        });
        insta::assert_snapshot!(format!("activity_raw_{w}x{h}"), text(&buf));
    }
}

#[test]
fn the_activity_log_filters_by_agent_and_kind() {
    let s = script();
    let theme = Theme::dark();
    let view = panes::activity::ActivityView {
        agent: Some("tester-1".into()),
        ..Default::default()
    };
    let buf = draw(100, 12, |a, b| {
        panes::activity::render(&ctx(&s.state, &theme, true), &view, &s.log, &[], a, b)
    });
    let t = text(&buf);
    assert!(t.contains("tester-1 rate_limited tests"), "{t}");
    assert!(!t.contains("implementer-1"), "{t}");
    let view = panes::activity::ActivityView {
        kind: Some("concern_raised".into()),
        ..Default::default()
    };
    let buf = draw(100, 12, |a, b| {
        panes::activity::render(&ctx(&s.state, &theme, true), &view, &s.log, &[], a, b)
    });
    let t = text(&buf);
    assert_eq!(t.matches("C-").count(), 3, "{t}");
}

#[test]
fn the_command_bar_completes_commands_and_the_ids_each_position_takes() {
    use overlord::tui::command_bar::{complete, History};
    let state = session();
    assert_eq!(complete("/ac", &state), vec!["/ack "]);
    let res = complete("/re", &state);
    assert!(
        res.contains(&"/resolve ".to_string()) && res.contains(&"/resume ".to_string()),
        "{res:?}"
    );
    assert_eq!(
        complete("/ack C-", &state),
        vec!["/ack C-1 ", "/ack C-2 ", "/ack C-3 "]
    );
    assert_eq!(complete("/pause tes", &state), vec!["/pause tester-1 "]);
    assert_eq!(complete("/approve ", &state), vec!["/approve A-2 "]);
    assert_eq!(
        complete("/rollback 2026", &state),
        vec!["/rollback 20261121-001 "]
    );
    assert!(complete("/ack C-1 because", &state).is_empty());
    assert!(complete("/nothing", &state).is_empty());

    let mut h = History::default();
    assert_eq!(h.up(), None);
    h.push("/ack C-1");
    h.push("/ack C-1");
    h.push("/status");
    assert_eq!(h.up(), Some("/status"));
    assert_eq!(h.up(), Some("/ack C-1"));
    assert_eq!(h.up(), Some("/ack C-1"), "the oldest stays");
    assert_eq!(h.down(), Some("/status"));
    assert_eq!(h.down(), None);
}

#[test]
fn files_agents_touch_in_their_worktrees_are_reported_with_the_task() {
    use overlord::tui::watch::{classify, worktrees, Touched};
    let root = tempfile::tempdir().unwrap();
    let wt = root.path().join(".overlord/worktrees");
    assert_eq!(
        classify(&wt, &wt.join("t1/src/lib.rs")),
        Some(Touched {
            task: "t1".into(),
            path: "src/lib.rs".into()
        })
    );
    assert_eq!(classify(&wt, &wt.join("t1/.git/index")), None);
    assert_eq!(classify(&wt, &wt.join("t1")), None);
    assert_eq!(classify(&wt, &root.path().join("README.md")), None);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_w, mut rx) = worktrees(root.path()).unwrap();
        let dir = root.path().join(".overlord/worktrees/t2/src");
        std::fs::create_dir_all(&dir).unwrap();
        // A directory made a moment ago may not be watched yet (inotify adds watches for new
        // directories as it sees them): the agent keeps writing, as agents do.
        let got = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            let mut n = 0;
            loop {
                n += 1;
                std::fs::write(dir.join("main.rs"), format!("fn main() {{}} // {n}\n")).unwrap();
                let wait = tokio::time::sleep(std::time::Duration::from_millis(200));
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        t = rx.recv() => {
                            let t = t.unwrap();
                            if t.path == "src/main.rs" {
                                return t;
                            }
                        }
                        _ = &mut wait => break,
                    }
                }
            }
        })
        .await
        .expect("the change is reported");
        assert_eq!(got.task, "t2");
    });
}

/// The console as the terminal drives it: keys through the real keymap (`on_terminal`),
/// frames through `draw_frame`, at a fixed clock.
struct Console {
    app: overlord::tui::app::App,
    keymap: overlord::tui::keymap::Keymap,
    size: Rect,
    raw: Vec<String>,
}

impl Console {
    fn new(app: overlord::tui::app::App, w: u16, h: u16) -> Console {
        let mut c = Console {
            app,
            keymap: overlord::tui::keymap::Keymap::defaults().0,
            size: Rect::new(0, 0, w, h),
            raw: Vec::new(),
        };
        c.draw();
        c
    }

    fn keys(&mut self, keys: &[&str]) -> String {
        for k in keys {
            let event = overlord::tui::keymap::parse_key(k).unwrap();
            overlord::tui::run::on_terminal(
                &mut self.app,
                &self.keymap,
                self.size,
                Some(crossterm::event::Event::Key(event)),
            );
            self.draw();
        }
        self.draw()
    }

    /// One frame, as the runner draws it (it tells the app the raw output's length and the
    /// terminal's size).
    fn draw(&mut self) -> String {
        let theme = Theme::dark();
        let look = overlord::tui::run::Look {
            theme: &theme,
            keymap: &self.keymap,
            stall_secs: 120,
        };
        self.app.screen.activity.raw_len = self.raw.len();
        let now = overlord::core::parse_stamp(NOW).unwrap();
        let app = &self.app;
        let buf = draw(self.size.width, self.size.height, |a, b| {
            overlord::tui::run::draw_frame(app, &look, &self.raw, now, a, b)
        });
        self.app.screen.size = self.size;
        text(&buf)
    }
}

/// A console restarted on a store with a long history shows the newest events as before
/// (read from the store's end, not replayed), and says where the earlier ones are.
#[test]
fn a_restarted_console_rebuilds_its_activity_log_from_the_store() {
    use overlord::tui::history::{app_at_start, ACTIVITY_ENTRIES};
    let repo = crate::common::Repo::new();
    drop(repo.core());
    let ws = repo.workspace();
    let events: Vec<Event> = (1..=700u64)
        .map(|i| Event {
            seq: i,
            at: format!("2026-11-21T09:{:02}:{:02}.000Z", i / 60 % 60, i % 60),
            command_seq: None,
            actor: "agent:implementer-1".into(),
            kind: EventKind::ConcernRaised {
                concern: concern(
                    i,
                    Severity::Warning,
                    Role::Implementer,
                    "2026-11-21T09:00:00.000Z",
                    &format!("concern number {i}"),
                ),
            },
        })
        .collect();
    crate::common::append_events(&ws, &events);
    // The state as the core restores it, then the app the way the console starts it.
    let state = repo.reopen().state().clone();
    assert_eq!(state.last_event_seq, 700);
    let app = app_at_start(state, &ws.store_paths());
    assert_eq!(app.log.events.len(), ACTIVITY_ENTRIES);
    assert_eq!(app.log.events.front().map(|e| e.seq), Some(201));
    assert_eq!(app.log.events.back().map(|e| e.seq), Some(700));

    let mut c = Console::new(app, 100, 30);
    let t = c.keys(&["6"]);
    assert!(t.contains("concern number 700"), "{t}");
    assert!(t.contains("concern number 680"), "{t}");
    // At the top: the oldest kept event, and where the earlier ones are.
    let t = c.keys(&["g"]);
    insta::assert_snapshot!("activity_rebuilt_top_100x30", t);
    assert!(t.contains("concern number 201"), "{t}");
    assert!(
        t.contains("200 earlier events (older than 1h26m) are in the audit trail: overlord-tui audit export"),
        "{t}"
    );
    // One step down from the top moves the view at once (the top is the oldest screenful):
    // the note gives its row to the next event.
    let t = c.keys(&["j"]);
    assert!(!t.contains("earlier events"), "{t}");
    assert!(
        t.contains("concern number 201") && t.contains("concern number 224"),
        "{t}"
    );
    let t = c.keys(&["j"]);
    assert!(
        !t.contains("concern number 201") && t.contains("concern number 225"),
        "{t}"
    );
}

/// An agent's raw output after a restart: its run logs' last lines (the supervisor reads
/// them back), and at the top where the earlier output is.
#[test]
fn the_raw_output_is_rebuilt_from_the_run_logs() {
    use overlord::runtime::supervisor::{RawOutput, RAW_LINES};
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("implementer-1");
    std::fs::create_dir_all(&logs).unwrap();
    let mut text = String::from("--- scripted (pid 7)\n");
    for i in 1..=1500 {
        text.push_str(&format!(
            "out {{\"type\":\"text\",\"n\":{i}}}\nerr warning {i}\n"
        ));
    }
    text.push_str("--- ended: exit 0\n");
    std::fs::write(logs.join("001-impl-arith.log"), text).unwrap();
    let raw = RawOutput::from_logs(dir.path(), &["implementer-1".to_string()]);

    let mut c = Console::new(overlord::tui::app::App::new(session()), 100, 30);
    c.raw = raw.lines("implementer-1");
    assert_eq!(c.raw.len(), RAW_LINES);
    // Enter on the agent in the swarm: its raw output.
    let t = c.keys(&["1", "down", "enter"]);
    assert!(
        t.contains("Raw output") && t.contains("agent implementer-1"),
        "{t}"
    );
    assert!(t.contains("{\"type\":\"text\",\"n\":1500}"), "{t}");
    assert!(!t.contains("warning"), "only the output lines: {t}");
    let t = c.keys(&["g"]);
    assert!(t.contains("{\"type\":\"text\",\"n\":501}"), "{t}");
    assert!(
        t.contains("earlier output is in .overlord/logs/agents/implementer-1/"),
        "{t}"
    );
    // An agent with no output kept says where its logs would be.
    c.raw.clear();
    let t = c.keys(&["G"]);
    assert!(
        t.contains(
            "no output from implementer-1 yet (its run logs: .overlord/logs/agents/implementer-1/)"
        ),
        "{t}"
    );
}

/// `f` in the concerns pane: open → resolved → all, with the counts in the title.
#[test]
fn the_concerns_pane_lists_resolved_concerns_with_the_counts_in_its_title() {
    let mut s = script();
    s.at(
        "2026-11-21T10:10:00.000Z",
        "agent:implementer-1",
        EventKind::ConcernRaised {
            concern: concern(
                4,
                Severity::Info,
                Role::Implementer,
                "2026-11-21T10:10:00.000Z",
                "Rounding of halves settled",
            ),
        },
    );
    s.at(
        "2026-11-21T10:12:00.000Z",
        "console:ana",
        EventKind::ConcernResolved {
            id: overlord::protocol::model::ConcernId(4),
            note: Some("round half to even".into()),
        },
    );
    let mut c = Console::new(overlord::tui::app::App::new(s.state.clone()), 100, 24);
    let t = c.keys(&["2"]);
    assert!(
        t.contains("Concerns · open 3 (1 critical) · resolved 1"),
        "{t}"
    );
    assert!(!t.contains("Rounding of halves"), "{t}");
    let t = c.keys(&["f"]);
    insta::assert_snapshot!("concerns_resolved_100x24", t);
    assert!(
        t.contains("showing resolved") && t.contains("Rounding of halves"),
        "{t}"
    );
    assert!(!t.contains("saturate at zero"), "{t}");
    // Enter shows the resolved concern's details (the resolution).
    let t = c.keys(&["enter"]);
    assert!(t.contains("round half to even"), "{t}");
    let t = c.keys(&["esc", "f"]);
    assert!(t.contains("showing all"), "{t}");
    assert_eq!(t.matches("C-").count(), 4, "{t}");
    let t = c.keys(&["G", "f"]);
    assert!(!t.contains("showing") && !t.contains("Rounding"), "{t}");
    assert_eq!(c.app.screen.concerns.selected, 0);
}

/// Whatever awaits the human, the status line says which keys decide it.
#[test]
fn what_awaits_the_human_says_which_keys_decide_it() {
    let mut c = Console::new(overlord::tui::app::App::new(session()), 100, 30);
    let t = c.draw();
    let status = t.lines().next().unwrap().to_string();
    assert!(status.contains("1 awaiting you: 3 then a"), "{status}");
    let t = c.keys(&["3"]);
    let status = t.lines().next().unwrap().to_string();
    assert!(status.contains("1 awaiting you: a approves"), "{status}");
    // And `a` there starts the approval in the command bar.
    let t = c.keys(&["a"]);
    assert!(t.contains("/approve A-2"), "{t}");
}

/// A Discord bridge that could not connect in the owner shows on the status line while its
/// concern is open.
#[test]
fn a_failed_discord_bridge_shows_on_the_status_line() {
    let mut s = script();
    let mut c = concern(
        9,
        Severity::Critical,
        Role::ProjectManager,
        "2026-11-21T10:40:00.000Z",
        "the Discord bridge cannot connect: OVERLORD_DISCORD_TOKEN was refused",
    );
    c.category = "discord_bridge".into();
    s.at(
        "2026-11-21T10:40:00.000Z",
        "system",
        EventKind::ConcernRaised { concern: c },
    );
    let mut con = Console::new(overlord::tui::app::App::new(s.state), 160, 30);
    let status = con.draw().lines().next().unwrap().to_string();
    assert!(status.contains("Discord down"), "{status}");
    let mut con = Console::new(overlord::tui::app::App::new(session()), 160, 30);
    let status = con.draw().lines().next().unwrap().to_string();
    assert!(!status.contains("Discord"), "{status}");
}

/// The demo's narration has a row of its own above the command bar.
#[test]
fn a_narration_line_has_a_row_of_its_own() {
    let mut c = Console::new(overlord::tui::app::App::new(session()), 100, 30);
    let before = c.draw();
    c.app.on_narration(
        "stage 4/8: two implementers work in parallel; a concern climbs to you".into(),
    );
    let t = c.draw();
    insta::assert_snapshot!("narration_100x30", t);
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[27]
            .starts_with("▶ stage 4/8: two implementers work in parallel; a concern climbs to you"),
        "{t}"
    );
    // The command bar and the hints keep their rows; the panes give one up.
    assert_eq!(lines[28], before.lines().nth(28).unwrap());
    assert_eq!(lines[29], before.lines().nth(29).unwrap());
}

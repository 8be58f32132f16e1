//! Key behaviour without a terminal: keys go through the real keymap (its layers) to the
//! app's update step, and each gives the expected command or view change.

use overlord::protocol::model::{ConcernId, Severity};
use overlord::protocol::{Command, Event, EventKind, Target};
use overlord::tui::app::{App, Intent};
use overlord::tui::keymap::{parse_key, Keymap};
use overlord::tui::screen::Pane;

use crate::tui_panes::session;

struct Console {
    app: App,
    keys: Keymap,
}

impl Console {
    fn new() -> Console {
        Console {
            app: App::new(session()),
            keys: Keymap::defaults().0,
        }
    }

    /// Presses one key as the runner does: bound keys become actions, other printable keys
    /// go to the command bar when it is open.
    fn press(&mut self, key: &str) -> Vec<Intent> {
        let event = parse_key(key).unwrap();
        match self.keys.resolve(&self.app.layers(), event) {
            Some(action) => self.app.on_action(action),
            None => {
                if self.app.screen.command.is_some() {
                    self.app.on_edit(event);
                }
                Vec::new()
            }
        }
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.app.on_text(c);
        }
    }
}

#[test]
fn focus_moves_with_tab_and_the_number_keys() {
    let mut c = Console::new();
    assert_eq!(c.app.screen.focus, Pane::Swarm);
    c.press("tab");
    assert_eq!(c.app.screen.focus, Pane::Concerns);
    c.press("backtab");
    assert_eq!(c.app.screen.focus, Pane::Swarm);
    c.press("5");
    assert_eq!(c.app.screen.focus, Pane::Timeline);
    c.press("2");
    assert_eq!(c.app.screen.focus, Pane::Concerns);
}

#[test]
fn concern_keys_acknowledge_the_selected_concern_and_prefill_resolve() {
    let mut c = Console::new();
    c.press("2");
    // The queue starts with the critical one.
    assert_eq!(
        c.press("a"),
        vec![Intent::Submit(Command::Ack {
            concern: ConcernId(2)
        })]
    );
    c.press("down");
    assert!(c.press("r").is_empty());
    assert_eq!(c.app.screen.command.as_deref(), Some("/resolve C-1 "));
    c.type_text("spec clarified");
    assert_eq!(
        c.press("enter"),
        vec![Intent::Submit(Command::Resolve {
            concern: ConcernId(1),
            note: Some("spec clarified".into())
        })]
    );
    assert_eq!(c.app.screen.command, None);
}

#[test]
fn save_asks_first_and_does_nothing_when_cancelled() {
    let mut c = Console::new();
    assert!(c.press("S").is_empty());
    let confirm = c.app.screen.confirm.clone().expect("a confirmation");
    assert!(confirm.lines[0].contains("design"), "{confirm:?}");
    // In a confirmation, q does not quit.
    assert!(c.press("q").is_empty());
    assert!(c.app.screen.confirm.is_some());
    assert!(c.press("n").is_empty());
    assert!(c.app.screen.confirm.is_none());
    c.press("S");
    assert_eq!(c.press("y"), vec![Intent::Submit(Command::Save)]);
}

#[test]
fn rollback_is_one_key_on_the_selected_checkpoint_with_a_confirmation() {
    let mut c = Console::new();
    c.press("5");
    c.press("R");
    assert!(c.app.screen.confirm.as_ref().unwrap().lines[0].contains("checkpoint/20261121-001"));
    assert_eq!(
        c.press("enter"),
        vec![Intent::Submit(Command::Rollback {
            checkpoint: "checkpoint/20261121-001".into(),
            branch: None,
            reason: Some("rolled back from the console".into()),
        })]
    );
}

#[test]
fn agent_keys_pause_resume_and_clarify_the_selected_agent() {
    let mut c = Console::new();
    c.press("down");
    assert_eq!(
        c.press("p"),
        vec![Intent::Submit(Command::Pause {
            target: Target::Agent("implementer-1".into())
        })]
    );
    assert_eq!(
        c.press("r"),
        vec![Intent::Submit(Command::Resume {
            target: Target::Agent("implementer-1".into())
        })]
    );
    c.press("c");
    assert_eq!(
        c.app.screen.command.as_deref(),
        Some("/clarify implementer-1 ")
    );
    c.press("esc");
    assert_eq!(c.app.screen.command, None);
    assert_eq!(
        c.press("P"),
        vec![Intent::Submit(Command::Pause {
            target: Target::All
        })]
    );
}

#[test]
fn approve_and_reject_open_the_command_bar_on_the_pending_approval() {
    let mut c = Console::new();
    c.press("3");
    c.press("a");
    assert_eq!(c.app.screen.command.as_deref(), Some("/approve A-2 "));
    c.press("esc");
    c.press("x");
    assert_eq!(c.app.screen.command.as_deref(), Some("/reject A-2 "));
}

#[test]
fn the_command_bar_parses_completes_and_remembers() {
    let mut c = Console::new();
    c.press(":");
    assert_eq!(c.app.screen.command.as_deref(), Some("/"));
    c.type_text("ac");
    c.press("tab");
    assert_eq!(c.app.screen.command.as_deref(), Some("/ack "));
    c.type_text("C-3");
    assert_eq!(
        c.press("enter"),
        vec![Intent::Submit(Command::Ack {
            concern: ConcernId(3)
        })]
    );
    // A line that does not parse is an error in the bar, not a command.
    c.press(":");
    c.type_text("nope");
    assert!(c.press("enter").is_empty());
    let (ok, message) = c.app.screen.reply.clone().unwrap();
    assert!(!ok && message.contains("nope"), "{message}");
    // History.
    c.press(":");
    c.press("up");
    assert_eq!(c.app.screen.command.as_deref(), Some("/nope"));
    c.press("up");
    assert_eq!(c.app.screen.command.as_deref(), Some("/ack C-3"));
}

#[test]
fn quit_help_and_zoom() {
    let mut c = Console::new();
    c.press("?");
    assert!(c.app.screen.help);
    c.press("esc");
    assert!(!c.app.screen.help);
    c.press("3");
    c.press("enter");
    assert!(c.app.screen.zoom, "enter on the plan shows it alone");
    c.press("esc");
    assert!(!c.app.screen.zoom);
    // On the swarm, enter shows the selected agent's raw output.
    c.press("1");
    c.press("down");
    c.press("enter");
    assert_eq!(c.app.screen.focus, Pane::Activity);
    assert_eq!(
        c.app.screen.activity.agent.as_deref(),
        Some("implementer-1")
    );
    assert!(c.app.screen.activity.raw);
    assert_eq!(c.press("q"), vec![Intent::Quit]);
}

#[test]
fn core_events_update_the_view_a_gap_asks_for_a_snapshot_and_critical_concerns_alert() {
    let mut c = Console::new();
    c.app.dirty = false;
    let next = c.app.state.last_event_seq + 1;
    let mut concern = c.app.state.concerns[&ConcernId(2)].clone();
    concern.id = ConcernId(4);
    concern.severity = Severity::Critical;
    let intents = c.app.on_event(Event {
        seq: next,
        at: "2026-11-21T10:31:00.000Z".into(),
        command_seq: None,
        actor: "agent:tester-1".into(),
        kind: EventKind::ConcernRaised {
            concern: concern.clone(),
        },
    });
    assert_eq!(intents, vec![Intent::Alert(Box::new(concern))]);
    assert!(c.app.dirty);
    assert!(c.app.state.concerns.contains_key(&ConcernId(4)));
    // The same event again changes nothing; a gap asks for a snapshot.
    c.app.dirty = false;
    let replay = c.app.log.events.back().unwrap().clone();
    assert!(c.app.on_event(replay).is_empty());
    assert!(!c.app.dirty);
    let gap = c.app.on_event(Event {
        seq: next + 5,
        at: "2026-11-21T10:32:00.000Z".into(),
        command_seq: None,
        actor: "system".into(),
        kind: EventKind::DispatchResumed,
    });
    assert_eq!(gap, vec![Intent::Snapshot]);
}

#[test]
fn d_opens_the_diff_of_the_selected_task_or_checkpoint_and_only_the_latest_load_counts() {
    use overlord::tui::diff_source::DiffSource;
    use overlord::tui::diff_view::DiffView;
    let mut c = Console::new();
    // The swarm: the selected agent's task against main.
    c.press("down");
    let intents = c.press("d");
    assert_eq!(
        intents,
        vec![Intent::LoadDiff {
            source: DiffSource::Task {
                task: "impl-arith".into(),
                main: "main".into()
            },
            generation: 1
        }]
    );
    assert_eq!(c.app.screen.focus, Pane::Diff);
    assert!(c.app.screen.diff.loading);
    // The timeline: what the checkpoint changed (against its parent: no `previous` known).
    c.press("5");
    let Intent::LoadDiff { source, generation } = c.press("d").remove(0) else {
        panic!("a load")
    };
    assert_eq!(generation, 2);
    assert_eq!(
        source,
        DiffSource::Revisions {
            from: "1234567^".into(),
            to: "checkpoint/20261121-001".into()
        }
    );
    // The first load lands late: dropped. The second is shown.
    c.app
        .on_diff_loaded(1, Ok(DiffView::from_texts("a.rs", "old\n", "new\n")));
    assert!(c.app.screen.diff.view.is_none() && c.app.screen.diff.loading);
    c.app.on_diff_loaded(
        2,
        Ok(DiffView::from_texts("b.rs", "fn a() {}\n", "fn b() {}\n")),
    );
    let view = c.app.screen.diff.view.as_ref().expect("the diff");
    assert_eq!(view.set().files[0].path(), "b.rs");
    assert!(!c.app.screen.diff.loading);
    // Diff keys: the layout toggles; i compares integration with main; r reloads.
    c.press("v");
    assert_eq!(
        c.app.screen.diff.view.as_ref().unwrap().layout(),
        overlord::tui::diff_view::Layout::SideBySide
    );
    assert_eq!(
        c.press("i"),
        vec![Intent::LoadDiff {
            source: DiffSource::Integration {
                main: "main".into()
            },
            generation: 3
        }]
    );
    c.app
        .on_diff_loaded(3, Err("no integration branch yet: Save creates one".into()));
    assert_eq!(
        c.app.screen.diff.error.as_deref(),
        Some("no integration branch yet: Save creates one")
    );
    assert!(matches!(
        c.press("r").as_slice(),
        [Intent::LoadDiff { generation: 4, .. }]
    ));
}

#[test]
fn a_marked_checkpoint_is_compared_with_the_selected_one() {
    use overlord::tui::diff_source::DiffSource;
    let mut c = Console::new();
    let mut second = c.app.state.checkpoints[0].clone();
    second.name = "checkpoint/20261121-002".into();
    c.app.state.checkpoints.push(second);
    c.press("5");
    // Newest first: mark -002, then diff -001 against it.
    c.press("m");
    assert_eq!(
        c.app.screen.timeline.marked.as_deref(),
        Some("checkpoint/20261121-002")
    );
    c.press("down");
    let Intent::LoadDiff { source, .. } = c.press("d").remove(0) else {
        panic!("a load")
    };
    assert_eq!(
        source,
        DiffSource::Revisions {
            from: "checkpoint/20261121-002".into(),
            to: "checkpoint/20261121-001".into()
        }
    );
}

#[test]
fn files_agents_touch_update_the_swarm_and_reload_their_diff_once_at_a_time() {
    use overlord::tui::diff_view::DiffView;
    use overlord::tui::watch::Touched;
    let mut c = Console::new();
    let touched = |path: &str| Touched {
        task: "impl-arith".into(),
        path: path.into(),
    };
    // Another task's diff is not reloaded; the swarm counts the file.
    assert!(c.app.on_touched(touched("src/lib.rs")).is_empty());
    assert!(c.app.screen.swarm.live["impl-arith"].contains("src/lib.rs"));
    c.press("down");
    c.press("d");
    // While it loads, changes are gathered into one reload after it.
    assert!(c.app.on_touched(touched("src/a.rs")).is_empty());
    assert!(c.app.on_touched(touched("src/b.rs")).is_empty());
    let again = c
        .app
        .on_diff_loaded(1, Ok(DiffView::from_texts("a.rs", "", "x\n")));
    assert!(
        matches!(again.as_slice(), [Intent::LoadDiff { generation: 2, .. }]),
        "{again:?}"
    );
    assert!(c
        .app
        .on_diff_loaded(2, Ok(DiffView::from_texts("a.rs", "", "y\n")))
        .is_empty());
    // Idle: a change reloads at once.
    assert!(matches!(
        c.app.on_touched(touched("src/c.rs")).as_slice(),
        [Intent::LoadDiff { generation: 3, .. }]
    ));
}

#[test]
fn enter_on_a_concern_opens_its_details_and_save_shows_its_progress() {
    let mut c = Console::new();
    c.press("2");
    c.press("enter");
    assert!(c.app.screen.details);
    // The concern keys still act on it.
    assert_eq!(
        c.press("a"),
        vec![Intent::Submit(Command::Ack {
            concern: ConcernId(2)
        })]
    );
    c.press("esc");
    assert!(!c.app.screen.details);
    c.press("S");
    assert_eq!(c.press("y"), vec![Intent::Submit(Command::Save)]);
    assert!(c.app.screen.progress);
    c.press("esc");
    assert!(!c.app.screen.progress);
}

#[test]
fn the_command_bar_edits_like_a_text_field() {
    let mut c = Console::new();
    c.press(":");
    c.type_text("ack C-");
    // The cursor moves; typing inserts where it is; home and end; ctrl-u clears.
    c.press("left");
    c.press("left");
    c.type_text("x");
    assert_eq!(c.app.screen.command.as_deref(), Some("/ack xC-"));
    assert_eq!(c.app.screen.command_cursor, 6);
    c.press("backspace");
    c.press("end");
    c.type_text("1");
    assert_eq!(c.app.screen.command.as_deref(), Some("/ack C-1"));
    c.press("home");
    assert_eq!(c.app.screen.command_cursor, 0);
    c.press("delete");
    assert_eq!(c.app.screen.command.as_deref(), Some("ack C-1"));
    // A pasted text is one line.
    c.press("end");
    c.app.on_paste(" and\nmore");
    assert_eq!(c.app.screen.command.as_deref(), Some("ack C-1 and more"));
    // Enter submits what is there (parse errors are shown inline, nothing is sent).
    assert!(c.press("enter").is_empty());
    assert!(c.app.screen.reply.as_ref().is_some_and(|(ok, _)| !ok));
}

#[test]
fn status_opens_its_whole_report_with_the_health_line_until_esc() {
    // The core's own answer to `/status` on the console's session.
    let s = crate::tui_panes::script();
    let report = overlord::protocol::StatusReport::from_state(&s.state, "2026-11-21T10:30:00.000Z");
    let reply = overlord::protocol::Reply {
        command_seq: 9,
        ok: true,
        message: report.headline(),
        error: None,
        events: vec![],
        data: overlord::protocol::ReplyData::Status(Box::new(report.clone())),
    };
    let mut c = Console::new();
    c.app.on_reply(&reply);
    let (text, _) = crate::tui_panes::screen_of(&s, &c.app.screen, 120, 40);
    assert!(text.contains("Status"), "{text}");
    assert!(text.contains("Health: "), "{text}");
    // The health line's parts, wrapped in the overlay rather than cut at the command bar.
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for part in [
        "tasks 1/4 done",
        "concerns 1 critical",
        "QA require_human",
        "spend today",
        "$0.03 (12.5k tokens)",
        "Spend today (2026-11-21): $0.03 (12.5k tokens)",
    ] {
        assert!(flat.contains(part), "{part} not in {flat}");
    }
    c.press("esc");
    assert_eq!(c.app.screen.answer, None);
    // Any other short answer does not open it.
    c.app.on_reply(&overlord::protocol::Reply {
        data: overlord::protocol::ReplyData::None,
        message: "acknowledged".into(),
        ..reply
    });
    assert_eq!(c.app.screen.answer, None);
}

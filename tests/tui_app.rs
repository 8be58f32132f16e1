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
    finish(&mut c.app, "impl-arith");
    assert!(c.press("S").is_empty());
    let confirm = c.app.screen.confirm.clone().expect("a confirmation");
    assert!(confirm.lines[0].contains("impl-arith"), "{confirm:?}");
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
    finish(&mut c.app, "impl-arith");
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

/// The console the way the terminal drives it: every input through `run::on_terminal`, every
/// frame through `run::draw_frame` at a fixed size.
struct Term {
    app: App,
    keys: Keymap,
    theme: overlord::tui::theme::Theme,
    size: ratatui::layout::Rect,
}

impl Term {
    fn new(state: overlord::protocol::State, w: u16, h: u16) -> Term {
        let mut t = Term {
            app: App::new(state),
            keys: Keymap::defaults().0,
            theme: overlord::tui::theme::Theme::dark(),
            size: ratatui::layout::Rect::new(0, 0, w, h),
        };
        t.screen();
        t
    }

    fn input(&mut self, ev: crossterm::event::Event) -> Vec<Intent> {
        overlord::tui::run::on_terminal(&mut self.app, &self.keys, self.size, Some(ev))
    }

    fn press(&mut self, key: &str) -> Vec<Intent> {
        self.input(crossterm::event::Event::Key(parse_key(key).unwrap()))
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(&c.to_string());
        }
    }

    fn wheel(&mut self, down: bool, x: u16, y: u16) -> Vec<Intent> {
        use crossterm::event::{KeyModifiers, MouseEvent, MouseEventKind};
        self.input(crossterm::event::Event::Mouse(MouseEvent {
            kind: if down {
                MouseEventKind::ScrollDown
            } else {
                MouseEventKind::ScrollUp
            },
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        }))
    }

    /// The frame as text (and the app learns the size, as the runner's draw does).
    fn screen(&mut self) -> String {
        let look = overlord::tui::run::Look {
            theme: &self.theme,
            keymap: &self.keys,
            stall_secs: 120,
        };
        let mut buf = ratatui::buffer::Buffer::empty(self.size);
        let now = overlord::core::parse_stamp(crate::tui_panes::NOW).unwrap();
        overlord::tui::run::draw_frame(&self.app, &look, &[], now, self.size, &mut buf);
        self.app.screen.size = self.size;
        crate::tui_panes::text(&buf)
    }

    fn footer(&mut self) -> String {
        self.screen().lines().last().unwrap_or("").to_string()
    }

    /// The status line's message (the core's answer, or why a key did nothing).
    fn said(&self) -> String {
        self.app
            .screen
            .reply
            .clone()
            .map(|(_, m)| m)
            .unwrap_or_default()
    }
}

#[test]
fn help_scrolls_to_its_end_filters_and_keeps_every_key_from_the_pane_behind() {
    let mut t = Term::new(session(), 100, 30);
    t.press("?");
    let first = t.screen();
    assert!(
        first.contains("Help") && first.contains("Global"),
        "{first}"
    );
    // Cut at the height, with where we are: the metrics section is below.
    assert!(!first.contains("Metrics"), "{first}");
    let total = t.app.screen.help_view.rows;
    assert!(first.contains(&format!("1–24/{total}")), "{first}");
    // Keys that would move the pane behind scroll the help instead.
    for key in ["3", "down", "j", "ctrl-d", "pagedown", "2", "tab"] {
        t.press(key);
    }
    assert_eq!(t.app.screen.focus, Pane::Swarm);
    assert_eq!(t.app.screen.swarm.selected, 0);
    assert!(t.app.screen.help);
    // `3`, `2` and tab were typed into the filter: clear it, then scroll to the end.
    t.press("esc");
    assert!(t.app.screen.help && t.app.screen.help_view.filter.is_none());
    t.press("G");
    let end = t.screen();
    assert!(end.contains("Metrics") && end.contains("window"), "{end}");
    assert!(end.contains(&format!("/{total}")), "{end}");
    t.press("k");
    t.press("g");
    assert_eq!(t.app.screen.help_view.offset, 0);
    // The wheel scrolls the help, not the swarm under it.
    t.wheel(true, 10, 5);
    t.wheel(true, 10, 5);
    assert_eq!(t.app.screen.help_view.offset, 2);
    assert_eq!(t.app.screen.swarm.selected, 0);
    // Typing filters; q and ? are letters then; backspace edits; esc clears, then closes.
    t.press("g");
    t.type_text("save");
    let filtered = t.screen();
    assert!(filtered.contains("filter: save"), "{filtered}");
    assert!(
        filtered.contains("S ") && filtered.contains("save"),
        "{filtered}"
    );
    assert!(!filtered.contains("roll back"), "{filtered}");
    t.type_text("q?");
    assert_eq!(t.app.screen.help_view.filter.as_deref(), Some("saveq?"));
    assert!(t.app.screen.help);
    t.press("backspace");
    t.press("backspace");
    assert_eq!(t.app.screen.help_view.filter.as_deref(), Some("save"));
    t.press("esc");
    assert!(t.app.screen.help, "esc clears the filter first");
    assert_eq!(t.app.screen.help_view.filter, None);
    t.press("esc");
    assert!(!t.app.screen.help);
    // `q` closes the help (it does not quit), `/` starts a filter that may begin with a key.
    t.press("?");
    assert!(t.press("q").is_empty());
    assert!(!t.app.screen.help);
    t.press("?");
    t.press("/");
    t.type_text("j");
    assert_eq!(t.app.screen.help_view.filter.as_deref(), Some("j"));
    assert_eq!(t.app.screen.help_view.offset, 0);
    // ctrl-c still quits from the help.
    assert_eq!(t.press("ctrl-c"), vec![Intent::Quit]);
}

#[test]
fn the_hint_bar_names_the_essentials_first_and_drops_whole_hints_with_a_mark() {
    let mut lines = Vec::new();
    for w in [60u16, 80, 100] {
        let mut t = Term::new(session(), w, 24);
        let footer = t.footer();
        assert!(
            footer.starts_with("? help  q quit  : command bar  S save  P pause all"),
            "{w}: {footer}"
        );
        assert!(footer.chars().count() <= w as usize, "{w}: {footer}");
        lines.push(format!("{w}: {footer}"));
    }
    // The swarm's keys follow; what does not fit is left out whole, with a mark.
    assert!(
        lines[0].ends_with('…') && lines[1].ends_with('…'),
        "{lines:?}"
    );
    assert!(lines[2].contains("p pause agent"), "{lines:?}");
    insta::assert_snapshot!("hint_bar_60_80_100", lines.join("\n"));
    // Every hint shown is whole: the hints of the keymap, key and description.
    let mut t = Term::new(session(), 60, 24);
    let footer = t.footer();
    for piece in footer
        .trim_end_matches('…')
        .split("  ")
        .filter(|p| !p.is_empty())
    {
        let (key, what) = piece.split_once(' ').unwrap();
        let known = Keymap::defaults()
            .0
            .help()
            .into_iter()
            .flat_map(|(_, h)| h)
            .any(|(k, d)| k.split('/').any(|k| k == key) && d == what);
        assert!(known, "'{piece}' is not a whole hint: {footer}");
    }
    // A confirmation names its own keys, all of them.
    t.press("5");
    t.press("R");
    assert_eq!(t.footer(), "y/enter confirm  n/esc/ctrl-c cancel");
}

#[test]
fn keys_that_do_nothing_say_why_in_the_status_line() {
    let mut t = Term::new(session(), 100, 30);
    // The designer is done: it has no task to show.
    t.press("d");
    assert_eq!(t.said(), "designer-1 has no task to show");
    assert_eq!(t.app.screen.focus, Pane::Swarm);
    // Nothing pending in the plan.
    t.app.state.approvals.clear();
    t.press("3");
    t.press("a");
    assert_eq!(t.said(), "nothing awaits your approval");
    assert_eq!(t.app.screen.command, None);
    t.press("x");
    assert_eq!(t.said(), "nothing awaits your approval");
    // An empty state: no agent, concern or checkpoint to act on.
    let mut t = Term::new(overlord::protocol::State::default(), 100, 30);
    for key in ["p", "r", "c", "d", "enter"] {
        t.app.screen.reply = None;
        assert!(t.press(key).is_empty(), "{key}");
        assert!(t.said().contains("no agent"), "{key}: {}", t.said());
    }
    t.press("2");
    for key in ["a", "r", "A", "enter"] {
        t.app.screen.reply = None;
        assert!(t.press(key).is_empty(), "{key}");
        assert!(t.said().contains("no concern"), "{key}: {}", t.said());
    }
    t.press("5");
    for key in ["R", "d", "m"] {
        t.app.screen.reply = None;
        assert!(t.press(key).is_empty(), "{key}");
        assert!(
            t.said().contains("no checkpoint yet"),
            "{key}: {}",
            t.said()
        );
    }
    assert!(t.app.screen.confirm.is_none());
}

#[test]
fn a_confirmation_wraps_its_text_and_shows_its_keys_inside_the_box() {
    let mut t = Term::new(session(), 80, 24);
    t.press("5");
    t.press("R");
    let screen = t.screen();
    insta::assert_snapshot!("screen_rollback_confirm_80x24", screen);
    // The whole text, wrapped: nothing cut at the box's edge.
    let flat: String = screen
        .lines()
        .filter_map(|l| l.split('┃').nth(2))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("restore checkpoint/20261121-001 as a new commit on main (history is kept)"),
        "{flat}"
    );
    assert!(
        flat.contains("y/enter confirm · n/esc/ctrl-c cancel"),
        "{flat}"
    );
}

/// An event folded in as the core would send it.
fn event(app: &mut App, kind: EventKind) {
    let seq = app.state.last_event_seq + 1;
    app.on_event(Event {
        seq,
        at: "2026-11-21T10:31:00.000Z".into(),
        command_seq: None,
        actor: "system".into(),
        kind,
    });
}

#[test]
fn save_lists_only_what_it_would_integrate_and_says_when_there_is_nothing() {
    use overlord::protocol::model::{Checkpoint, CheckpointKind, TaskStatus};
    // The session's only finished task (design) is already on main: no question, a reason.
    let mut t = Term::new(session(), 80, 24);
    assert!(t.press("S").is_empty());
    assert!(t.app.screen.confirm.is_none());
    assert_eq!(
        t.said(),
        "nothing to save: every finished task is already on main"
    );
    // A newly finished task is what Save lists, and only it.
    event(
        &mut t.app,
        EventKind::TaskStatusChanged {
            task: "impl-arith".into(),
            status: TaskStatus::Done,
            note: None,
        },
    );
    t.press("S");
    let confirm = t.app.screen.confirm.clone().expect("a confirmation");
    assert_eq!(confirm.lines[0], "integrate 1 finished task: impl-arith");
    assert!(
        !confirm.lines.iter().any(|l| l.contains("design")),
        "{confirm:?}"
    );
    t.press("n");
    // A rollback to before design's Save took design out of main: it is not "already on
    // main", and the confirmation says what a Save can do about it.
    let mut restore = t.app.state.checkpoints[0].clone();
    restore.name = "checkpoint/20261121-000".into();
    restore.tasks = vec![];
    let rollback = Checkpoint {
        name: "checkpoint/20261121-002".into(),
        kind: CheckpointKind::Rollback,
        restores: Some("checkpoint/20261121-000".into()),
        tasks: vec![],
        ..restore.clone()
    };
    t.app.state.checkpoints.insert(0, restore);
    event(
        &mut t.app,
        EventKind::CheckpointCreated {
            checkpoint: rollback,
        },
    );
    t.press("S");
    let confirm = t.app.screen.confirm.clone().expect("a confirmation");
    assert!(
        confirm.lines.iter().any(|l| l.starts_with(
            "design: taken out of main by checkpoint/20261121-002; integrated again only with new work"
        )),
        "{confirm:?}"
    );
}

#[test]
fn finished_agents_are_not_quiet_and_counts_read_as_english() {
    let mut t = Term::new(session(), 120, 40);
    let screen = t.screen();
    let designer = screen
        .lines()
        .find(|l| l.contains("designer-1"))
        .expect("the designer's row");
    // Done at 09:10, last heard of long ago: no growing "quiet" figure.
    assert!(!designer.contains("1h"), "{designer}");
    assert!(designer.contains('—'), "{designer}");
    assert!(screen.contains("1 checkpoint "), "{screen}");
    assert!(screen.contains("4 agents, 3 active"), "{screen}");
    // The timeline says how long ago (panes are relative).
    t.press("5");
    t.press("enter");
    let screen = t.screen();
    assert!(screen.contains("44m ago"), "{screen}");
    // One agent is one agent.
    let mut state = session();
    let keep = state.agents.keys().next().unwrap().clone();
    state.agents.retain(|id, _| *id == keep);
    let mut t = Term::new(state, 120, 40);
    assert!(t.screen().contains("1 agent, "), "{}", t.screen());
}

/// A task finished, as the core would say it.
fn finish(app: &mut App, task: &str) {
    event(
        app,
        EventKind::TaskStatusChanged {
            task: task.into(),
            status: overlord::protocol::model::TaskStatus::Done,
            note: None,
        },
    );
}

/// The reviewer's thread in the console: a review of the task whose diff is open puts its
/// findings next to their lines at once (and on every reload), and the plan shows the
/// verdict and the first findings under the task.
#[test]
fn a_review_of_the_task_on_screen_shows_in_the_diff_viewer_and_the_plan() {
    use overlord::protocol::model::{Finding, Review, Verdict};
    use overlord::tui::diff_view::DiffView;
    let mut c = Console::new();
    c.press("down");
    let Intent::LoadDiff { generation, .. } = c.press("d").remove(0) else {
        panic!("a load")
    };
    c.app.on_diff_loaded(
        generation,
        Ok(DiffView::from_texts(
            "src/a.rs",
            "fn a() {}\n",
            "fn a() {}\nfn b() {}\n",
        )),
    );
    let rows = c.app.screen.diff.view.as_ref().unwrap().row_count();
    let review = |round: u32, verdict: Verdict, findings: usize| Review {
        task: "impl-arith".into(),
        round,
        reviewer: "reviewer-1".into(),
        verdict,
        findings: (0..findings)
            .map(|i| Finding {
                file: "src/a.rs".into(),
                line: Some(2),
                severity: "major".into(),
                text: format!("finding {i}"),
            })
            .collect(),
        summary: Some("see the findings".into()),
        at: "2026-11-21T10:40:00.000Z".into(),
    };
    let seq = c.app.state.last_event_seq + 1;
    c.app.on_event(Event {
        seq,
        at: "2026-11-21T10:40:00.000Z".into(),
        command_seq: None,
        actor: "reviewer-1".into(),
        kind: EventKind::ReviewRecorded {
            review: review(1, Verdict::RequestChanges, 4),
        },
    });
    let view = c.app.screen.diff.view.as_ref().unwrap();
    assert_eq!(view.row_count(), rows + 4, "the four findings under line 2");
    assert_eq!(view.reviewed("src/a.rs"), 4);
    // A reload keeps them.
    c.press("r");
    let g = c.app.screen.diff.generation;
    c.app.on_diff_loaded(
        g,
        Ok(DiffView::from_texts(
            "src/a.rs",
            "fn a() {}\n",
            "fn a() {}\nfn b() {}\n",
        )),
    );
    assert_eq!(
        c.app.screen.diff.view.as_ref().unwrap().row_count(),
        rows + 4
    );
    // The plan: the verdict, three findings and how many more.
    let theme = overlord::tui::theme::Theme::dark();
    let buf = crate::tui_panes::draw(120, 30, |a, b| {
        let ctx = crate::tui_panes::ctx(&c.app.state, &theme, true);
        overlord::tui::panes::plan::render(&ctx, &Default::default(), a, b)
    });
    let screen = crate::tui_panes::text(&buf);
    assert_eq!(
        overlord::tui::panes::plan::line_count(&c.app.state),
        overlord::tui::panes::plan::line_count(&crate::tui_panes::session()) + 5
    );
    assert!(
        screen.contains("review 1 · request_changes by reviewer-1: 4 findings — see the findings"),
        "{screen}"
    );
    assert!(screen.contains("src/a.rs:2 [major] finding 2"), "{screen}");
    assert!(!screen.contains("finding 3"), "{screen}");
    assert!(screen.contains("… 1 more"), "{screen}");
    // The next round approves: the diff viewer shows that round's (no) findings.
    let seq = c.app.state.last_event_seq + 1;
    c.app.on_event(Event {
        seq,
        at: "2026-11-21T10:50:00.000Z".into(),
        command_seq: None,
        actor: "reviewer-1".into(),
        kind: EventKind::ReviewRecorded {
            review: review(2, Verdict::Approve, 0),
        },
    });
    assert_eq!(c.app.screen.diff.view.as_ref().unwrap().row_count(), rows);
}

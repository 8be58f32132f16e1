//! No input ever crashes the console. Random sequences of keys (every bound key and plenty
//! of unbound ones, with modifiers), mouse clicks, drags and wheel turns at random cells
//! (inside and outside the screen), pastes and resizes from 20×8 to 300×100 go through the
//! same path the terminal's input takes (`tui::run::on_terminal` → the app's update) and
//! every step is drawn with `tui::run::draw_frame` on ratatui's `TestBackend`, over an empty
//! state, a session in full swing, and a large one (200 agents, 10,000 concerns, a
//! 100,000-line file diff). The intents the app asks for are carried out the way the runner
//! does: diffs load, the metrics answer, commands get a reply.

use std::sync::OnceLock;

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

use overlord::protocol::model::{ConcernId, Severity};
use overlord::protocol::{RejectCode, Rejection, Reply, State};
use overlord::tui::app::{App, Intent};
use overlord::tui::diff_view::DiffView;
use overlord::tui::keymap::Keymap;
use overlord::tui::run::{draw_frame, on_terminal, Look};
use overlord::tui::theme::Theme;

use crate::tui_panes::session;

/// One thing the terminal can send.
#[derive(Debug, Clone)]
enum Input {
    Key(KeyCode, KeyModifiers),
    Mouse(MouseEventKind, u16, u16),
    Paste(String),
    Resize(u16, u16),
}

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        // Every printable ASCII character: the bound letters, digits and signs, and the rest.
        (0x20u8..0x7f).prop_map(|c| KeyCode::Char(c as char)),
        Just(KeyCode::Char('é')),
        prop::sample::select(vec![
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Insert,
        ]),
        (1u8..=12).prop_map(KeyCode::F),
    ]
}

fn modifiers() -> impl Strategy<Value = KeyModifiers> {
    prop::sample::select(vec![
        KeyModifiers::NONE,
        KeyModifiers::NONE,
        KeyModifiers::NONE,
        KeyModifiers::SHIFT,
        KeyModifiers::CONTROL,
        KeyModifiers::ALT,
        KeyModifiers::CONTROL | KeyModifiers::SHIFT,
    ])
}

fn mouse_kind() -> impl Strategy<Value = MouseEventKind> {
    prop::sample::select(vec![
        MouseEventKind::Down(MouseButton::Left),
        MouseEventKind::Down(MouseButton::Right),
        MouseEventKind::Up(MouseButton::Left),
        MouseEventKind::Drag(MouseButton::Left),
        MouseEventKind::Moved,
        MouseEventKind::ScrollUp,
        MouseEventKind::ScrollDown,
        MouseEventKind::ScrollLeft,
        MouseEventKind::ScrollRight,
    ])
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        12 => (key_code(), modifiers()).prop_map(|(c, m)| Input::Key(c, m)),
        3 => (mouse_kind(), 0u16..320, 0u16..110).prop_map(|(k, x, y)| Input::Mouse(k, x, y)),
        1 => "[ -~\n\té\u{1b}]{0,40}".prop_map(Input::Paste),
        1 => (20u16..=300, 8u16..=100).prop_map(|(w, h)| Input::Resize(w, h)),
    ]
}

/// The console without a terminal: the app, its keys and look, and a `TestBackend`.
struct Console {
    app: App,
    keymap: Keymap,
    theme: Theme,
    terminal: Terminal<TestBackend>,
    /// What a `d` opens (the large state's is the 100,000-line file).
    diff: fn() -> DiffView,
}

impl Console {
    fn new(state: State, diff: fn() -> DiffView) -> Console {
        let mut c = Console {
            app: App::new(state),
            keymap: Keymap::defaults().0,
            theme: Theme::default(),
            terminal: Terminal::new(TestBackend::new(120, 40)).unwrap(),
            diff,
        };
        c.draw();
        c
    }

    fn size(&self) -> Rect {
        let s = self.terminal.size().unwrap();
        Rect::new(0, 0, s.width, s.height)
    }

    fn send(&mut self, input: &Input) {
        let event = match input {
            Input::Key(code, mods) => TermEvent::Key(KeyEvent::new(*code, *mods)),
            Input::Mouse(kind, x, y) => TermEvent::Mouse(MouseEvent {
                kind: *kind,
                column: *x,
                row: *y,
                modifiers: KeyModifiers::NONE,
            }),
            Input::Paste(text) => TermEvent::Paste(text.clone()),
            Input::Resize(w, h) => {
                self.terminal.backend_mut().resize(*w, *h);
                TermEvent::Resize(*w, *h)
            }
        };
        let size = self.size();
        let intents = on_terminal(&mut self.app, &self.keymap, size, Some(event));
        self.carry_out(intents);
        self.draw();
    }

    /// What the runner does with the app's intents, minus the core and the threads.
    fn carry_out(&mut self, intents: Vec<Intent>) {
        let mut queue = intents;
        while let Some(intent) = queue.pop() {
            match intent {
                Intent::LoadDiff { generation, .. } => {
                    queue.extend(self.app.on_diff_loaded(generation, Ok((self.diff)())));
                }
                Intent::LoadMetrics { generation, .. } => self
                    .app
                    .on_metrics_loaded(generation, Err("no store in this test".into())),
                Intent::Submit(command) => self.app.on_reply(&Reply::rejected(Rejection::new(
                    RejectCode::Unavailable,
                    format!("not sent in this test: {command:?}"),
                ))),
                // Older resolved concerns: copies of one the state has under new ids, as if the
                // history held 250 more than it.
                Intent::LoadHistory { offset } => {
                    let template = self.app.state.concerns.values().next().cloned();
                    let page: Vec<_> = template
                        .into_iter()
                        .flat_map(|c| {
                            (0..100u64).map(move |i| {
                                let mut c = c.clone();
                                c.id = overlord::protocol::model::ConcernId(100_000 + offset + i);
                                c.status = overlord::protocol::model::ConcernStatus::Resolved;
                                c
                            })
                        })
                        .take(250usize.saturating_sub(offset as usize))
                        .collect();
                    queue.extend(self.app.on_history_loaded(offset, Ok((250, page))));
                }
                Intent::Snapshot | Intent::Alert(_) | Intent::Quit | Intent::SwitchTheme { .. } => {
                }
            }
        }
    }

    fn draw(&mut self) {
        let look = Look {
            theme: &self.theme,
            keymap: &self.keymap,
            stall_secs: 120,
        };
        let now = time::macros::datetime!(2026-11-21 10:00 UTC);
        let app = &self.app;
        let frame = self
            .terminal
            .draw(|f| draw_frame(app, &look, &[], now, f.area(), f.buffer_mut()))
            .unwrap();
        let area = frame.area;
        self.app.screen.size = area;
    }
}

fn small_diff() -> DiffView {
    DiffView::from_texts(
        "src/lib.rs",
        "fn a() {}\nfn b() {}\n",
        "fn a() {}\nfn c() {}\n",
    )
}

/// A 100,000-line Rust file with 2,000 changed lines (built once).
fn large_diff() -> DiffView {
    static TEXTS: OnceLock<(String, String)> = OnceLock::new();
    let (old, new) = TEXTS.get_or_init(|| {
        let old: String = (0..100_000)
            .map(|i| format!("    let value_{i} = compute({i}); // a fairly long line of code\n"))
            .collect();
        let new: String = old
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i % 50 == 0 {
                    format!("{l} changed\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        (old, new)
    });
    DiffView::from_texts("src/big.rs", old, new)
}

/// 200 agents, 10,000 concerns: the session's, copied.
fn large_state() -> State {
    let mut state = session();
    let agent = state.agents.values().next().unwrap().clone();
    for i in 0..200 {
        let mut a = agent.clone();
        a.id = format!("implementer-{}", i + 100);
        state.agents.insert(a.id.clone(), a);
    }
    let concern = state.concerns.values().next().unwrap().clone();
    let severities = [Severity::Info, Severity::Warning, Severity::Critical];
    for i in 0..10_000u64 {
        let mut c = concern.clone();
        c.id = ConcernId(1_000 + i);
        c.severity = severities[(i % 3) as usize];
        c.summary = format!("concern number {i} about a long and winding subject");
        state.concerns.insert(c.id, c);
    }
    state
}

fn run(state: State, diff: fn() -> DiffView, inputs: &[Input]) {
    let mut console = Console::new(state, diff);
    for input in inputs {
        console.send(input);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_input_crashes_the_console_on_an_empty_state(inputs in prop::collection::vec(input(), 1..250)) {
        run(State::default(), small_diff, &inputs);
    }

    #[test]
    fn no_input_crashes_the_console_in_a_session(inputs in prop::collection::vec(input(), 1..250)) {
        run(session(), small_diff, &inputs);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn no_input_crashes_the_console_on_a_large_state(inputs in prop::collection::vec(input(), 1..120)) {
        static STATE: OnceLock<State> = OnceLock::new();
        run(STATE.get_or_init(large_state).clone(), large_diff, &inputs);
    }
}

/// The crash users met first: `j` in the Plan pane (and every other way of moving there and
/// in the QA pane), with the help overlay open or not.
#[test]
fn moving_in_the_plan_and_qa_panes_stays_inside_them() {
    use KeyCode::*;
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    for state in [State::default(), session()] {
        let mut c = Console::new(state, small_diff);
        for pane in ['3', '4'] {
            let mut keys = vec![Input::Key(Char(pane), none)];
            for (code, mods) in [
                (Char('j'), none),
                (Char('k'), none),
                (Down, none),
                (Up, none),
                (PageDown, none),
                (PageUp, none),
                (Char('d'), ctrl),
                (Char('u'), ctrl),
                (Char('G'), KeyModifiers::SHIFT),
                (Char('g'), none),
                (Char('?'), none),
                (Down, none),
                (Char('?'), none),
            ] {
                keys.extend(std::iter::repeat_n(Input::Key(code, mods), 3));
            }
            keys.push(Input::Mouse(MouseEventKind::ScrollDown, 60, 20));
            keys.push(Input::Mouse(MouseEventKind::ScrollUp, 60, 20));
            for k in &keys {
                c.send(k);
            }
        }
        // Scrolled text never goes past its last screenful: one `k` after many `j`s moves.
        c.send(&Input::Key(Char('3'), none));
        for _ in 0..500 {
            c.send(&Input::Key(Char('j'), none));
        }
        let bottom = c.app.screen.plan.offset;
        c.send(&Input::Key(Char('k'), none));
        assert!(
            c.app.screen.plan.offset == bottom.saturating_sub(1),
            "k from the bottom ({bottom}) went to {}",
            c.app.screen.plan.offset
        );
    }
}

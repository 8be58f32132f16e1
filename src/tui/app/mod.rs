//! The console's update step (the Elm architecture): a core event, a reply or a key action
//! changes the view state and returns *intents* — commands to submit, a snapshot to take,
//! an alert to raise, quitting. Nothing here touches the terminal, the core or the clock;
//! `run` carries the intents out. Typing in the command bar goes through `on_text`; the key
//! actions, one handler per family, are in `actions.rs`.

use crate::protocol::model::Severity;
use crate::protocol::{Command, Event, EventKind, Reply, State};

use super::command_bar::History;
use super::diff_source::DiffSource;
use super::diff_view::{DiffView, ReviewNote};
use super::keymap::Context;
use super::metrics_source::Figures;
use super::panes::activity::Log;
use super::screen::{Pane, Screen};
use super::watch::Touched;

mod actions;
mod command;
mod diff_keys;
mod help_keys;

/// What the app asks its runner to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Submit(Command),
    /// The event stream had a gap: replace the state with a fresh snapshot.
    Snapshot,
    /// A critical concern arrived (bell, desktop notification).
    Alert(Box<crate::protocol::model::Concern>),
    /// Load a diff off the UI loop and hand it to [`App::on_diff_loaded`] with `generation`.
    LoadDiff {
        source: DiffSource,
        generation: u64,
    },
    /// Compute the metrics pane's figures off the UI loop and hand them to
    /// [`App::on_metrics_loaded`] with `generation`. `after_events`: asked because events the
    /// figures read arrived (the worker answers those at most every few seconds).
    LoadMetrics {
        window: crate::metrics::Window,
        generation: u64,
        after_events: bool,
    },
    /// The console's theme changed to `name` (already in [`App::theme`]): the diff's syntax
    /// colours follow it, and `save` writes it to `.overlord/config.toml`.
    SwitchTheme {
        name: String,
        save: bool,
    },
    /// Read a page of resolved concerns the live state has let go of, from `offset` (the most
    /// recently resolved first), and hand it to [`App::on_history_loaded`].
    LoadHistory {
        offset: u64,
    },
    Quit,
}

/// What a confirmation leads to.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Submit(Command),
}

#[derive(Default)]
pub struct App {
    pub state: State,
    pub screen: Screen,
    pub log: Log,
    pub history: History,
    /// Something changed since the last frame.
    pub dirty: bool,
    pending: Option<Pending>,
    /// The theme chosen at run time (`/theme`), drawn instead of the one the console started
    /// with; the runner sets the starting one here too.
    pub theme: Option<super::theme::Theme>,
    /// The command bar's text field.
    editor: tui_textarea::TextArea<'static>,
    /// The pane the diff was entered from: esc in the diff goes back there.
    diff_back_to: Option<Pane>,
}

impl App {
    pub fn new(state: State) -> App {
        App {
            state,
            dirty: true,
            ..App::default()
        }
    }

    /// The keymap layers in force, most specific first.
    pub fn layers(&self) -> Vec<Context> {
        if self.screen.confirm.is_some() {
            return vec![Context::Confirm];
        }
        if self.screen.command.is_some() {
            return vec![Context::Palette];
        }
        // The help is modal: nothing reaches the pane behind it.
        if self.screen.help {
            return vec![Context::Help];
        }
        if self.screen.answer.is_some() {
            return vec![Context::Answer];
        }
        let pane = match self.screen.focus {
            Pane::Swarm => Context::Swarm,
            Pane::Concerns => Context::Concerns,
            Pane::Plan => Context::Plan,
            Pane::Qa => Context::Qa,
            Pane::Timeline => Context::Timeline,
            Pane::Activity => Context::Activity,
            Pane::Diff => Context::Diff,
            Pane::Metrics => Context::Metrics,
        };
        if self.screen.details {
            return vec![Context::Concerns, Context::Global];
        }
        vec![pane, Context::Global]
    }

    pub fn on_snapshot(&mut self, state: State) {
        self.state = state;
        self.dirty = true;
        // The figures read the store, not the state: they catch up at the next event or
        // refresh.
    }

    /// Events the figures read arrived: the shown pane computes them again (a hidden one does
    /// when it is shown).
    fn metrics_changed(&mut self) -> Vec<Intent> {
        if self.screen.focus == Pane::Metrics {
            self.load_metrics(true)
        } else {
            Vec::new()
        }
    }

    fn load_metrics(&mut self, after_events: bool) -> Vec<Intent> {
        let m = &mut self.screen.metrics;
        m.generation += 1;
        m.loading = true;
        self.dirty = true;
        vec![Intent::LoadMetrics {
            window: m.window,
            generation: m.generation,
            after_events,
        }]
    }

    /// The figures again while the pane is shown (the windows slide with the clock; the
    /// runner calls this every so often).
    pub fn refresh_metrics(&mut self) -> Vec<Intent> {
        if self.screen.focus != Pane::Metrics {
            return Vec::new();
        }
        self.load_metrics(true)
    }

    /// The metrics pane's figures arrived. An answer for another window, or older than the
    /// figures shown, is dropped; a newer one is shown even while a still newer request is
    /// pending.
    pub fn on_metrics_loaded(&mut self, generation: u64, loaded: Result<Figures, String>) {
        let m = &mut self.screen.metrics;
        if generation < m.window_generation || generation <= m.shown_generation {
            return;
        }
        m.shown_generation = generation;
        m.loading = generation < m.generation;
        match loaded {
            Ok(f) => {
                m.figures = Some(f);
                m.error = None;
            }
            Err(e) => m.error = Some(e),
        }
        self.dirty = true;
    }

    /// Gives `pane` the focus (a key or a click); showing the metrics computes them.
    pub fn focus(&mut self, pane: Pane) -> Vec<Intent> {
        let before = self.screen.focus;
        if pane == Pane::Diff {
            self.entering_diff();
        }
        self.screen.focus = pane;
        self.dirty = true;
        if pane == Pane::Metrics && before != Pane::Metrics {
            return self.load_metrics(false);
        }
        Vec::new()
    }

    /// A core event. A gap in the sequence asks for a snapshot instead of patching up.
    pub fn on_event(&mut self, ev: Event) -> Vec<Intent> {
        if ev.seq <= self.state.last_event_seq {
            return Vec::new();
        }
        let mut out = Vec::new();
        if ev.seq > self.state.last_event_seq + 1 {
            out.push(Intent::Snapshot);
        }
        match &ev.kind {
            EventKind::ConcernRaised { concern } if concern.severity == Severity::Critical => {
                out.push(Intent::Alert(Box::new(concern.clone())));
            }
            // A Save or rollback answers "started"; how it ended comes as an event.
            EventKind::OperationFinished {
                outcome, message, ..
            } => {
                self.screen.reply = Some((outcome.is_success(), message.clone()));
                // The progress view keeps the steps after the operation is gone.
                if let Some(op) = &self.state.operation {
                    self.screen.finished =
                        Some((format!("{} {}", op.kind, op.id), op.steps.clone()));
                }
            }
            _ => {}
        }
        let figures_read_it = crate::metrics::reads(&ev.kind);
        let reviewed = matches!(ev.kind, EventKind::ReviewRecorded { .. });
        self.state.apply(&ev);
        if reviewed {
            // A new review of the task on screen: its findings go next to their lines.
            let d = &mut self.screen.diff;
            let notes = ReviewNote::latest(&self.state, d.source.as_ref().and_then(|s| s.task()));
            if let Some(view) = d.view.as_mut() {
                view.set_review(notes);
            }
        }
        self.log.push(ev);
        self.dirty = true;
        if figures_read_it {
            out.extend(self.metrics_changed());
        }
        out
    }

    /// A line from the program running the console (the demo's narration), shown on a row
    /// of its own until the next one.
    pub fn on_narration(&mut self, text: String) {
        self.screen.narration = Some(text);
        self.dirty = true;
    }

    /// The core's answer to a command the console sent.
    pub fn on_reply(&mut self, reply: &Reply) {
        self.screen.reply = Some((reply.ok, reply.message.clone()));
        // `/status` opens its whole report (the health line does not fit the command bar), and
        // so do `/help` when it does not fit the bar and any answer of many lines.
        self.screen.answer = match &reply.data {
            crate::protocol::ReplyData::Status(r) if reply.ok => {
                Some(super::command_view::Answer::new("Status", &r.render_text()))
            }
            crate::protocol::ReplyData::Help(_) => self.long_answer("Help", &reply.message),
            // A Save or rollback has its progress view; other answers of one line stay in
            // the bar (an answer arriving late must not take the keys from what the human
            // does next).
            crate::protocol::ReplyData::Operation(_) => None,
            _ if !reply.message.trim_end().contains('\n') => None,
            _ if reply.ok => self.long_answer("Answer", &reply.message),
            _ => self.long_answer("Error", &reply.message),
        };
        // The bar keeps the answer's first line; the overlay has the rest.
        if self.screen.answer.is_some() {
            let first = reply.message.lines().find(|l| !l.trim().is_empty());
            self.screen.reply = Some((reply.ok, first.unwrap_or("").trim().to_string()));
        }
        self.dirty = true;
    }

    /// A key for the command bar's text field (tui-textarea: the cursor keys, home/end,
    /// ctrl-a/e/k/u/w, alt-b/f, delete…). The runner routes here the keys the palette's keymap
    /// does not bind while the command bar is open.
    pub fn on_edit(&mut self, key: crossterm::event::KeyEvent) {
        if self.screen.command.is_none() {
            return;
        }
        // One line: a newline never enters the text.
        if matches!(key.code, crossterm::event::KeyCode::Enter) {
            return;
        }
        self.screen.completion = None;
        if !self.readline(key) {
            self.editor.input(key);
        }
        self.sync_command();
    }

    /// Text typed into the command bar.
    pub fn on_text(&mut self, c: char) {
        self.on_edit(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        ));
    }

    pub fn on_backspace(&mut self) {
        self.on_edit(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Backspace,
            crossterm::event::KeyModifiers::NONE,
        ));
    }

    /// Pasted text goes into the command bar as one line.
    pub fn on_paste(&mut self, text: &str) {
        if self.screen.command.is_none() {
            return;
        }
        let line: String = text
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        self.editor.insert_str(line);
        self.screen.completion = None;
        self.sync_command();
    }

    fn sync_command(&mut self) {
        self.screen.command = Some(self.editor.lines().concat());
        self.screen.command_cursor = self.editor.cursor().1;
        self.dirty = true;
    }

    /// Replaces the command bar's text, the cursor at its end.
    fn set_command(&mut self, text: impl Into<String>) {
        self.editor = tui_textarea::TextArea::new(vec![text.into()]);
        self.editor.move_cursor(tui_textarea::CursorMove::End);
        self.sync_command();
    }

    fn open_command(&mut self, text: impl Into<String>) {
        self.set_command(text);
        self.screen.completion = None;
    }

    /// Shows `source` in the diff pane (loaded off the UI loop).
    pub fn open_diff(&mut self, source: DiffSource) -> Vec<Intent> {
        let d = &mut self.screen.diff;
        if d.source.as_ref() != Some(&source) {
            d.view = None;
        }
        d.source = Some(source);
        self.entering_diff();
        self.screen.focus = Pane::Diff;
        self.screen.details = false;
        self.load_diff()
    }

    fn load_diff(&mut self) -> Vec<Intent> {
        let d = &mut self.screen.diff;
        let Some(source) = d.source.clone() else {
            return Vec::new();
        };
        d.generation += 1;
        d.loading = true;
        d.reload_pending = false;
        self.dirty = true;
        vec![Intent::LoadDiff {
            source,
            generation: d.generation,
        }]
    }

    /// A page of older resolved concerns came (or why not).
    pub fn on_history_loaded(
        &mut self,
        offset: u64,
        loaded: Result<(u64, Vec<crate::protocol::model::Concern>), String>,
    ) -> Vec<Intent> {
        match loaded {
            Ok((total, page)) => self.screen.concerns.on_older(offset, total, page),
            Err(e) => {
                self.screen.concerns.asked = None;
                self.screen.reply =
                    Some((false, format!("cannot read the resolved concerns: {e}")));
            }
        }
        self.dirty = true;
        self.older_concerns()
    }

    /// Asks for the next page of older resolved concerns when the concerns pane needs it.
    pub(super) fn older_concerns(&mut self) -> Vec<Intent> {
        if self.screen.focus != Pane::Concerns {
            return Vec::new();
        }
        match self.screen.concerns.wants_older(&self.state) {
            Some(offset) => vec![Intent::LoadHistory { offset }],
            None => Vec::new(),
        }
    }

    /// A diff finished loading. Only the latest load counts; a reload keeps the place.
    pub fn on_diff_loaded(
        &mut self,
        generation: u64,
        loaded: Result<DiffView, String>,
    ) -> Vec<Intent> {
        let d = &mut self.screen.diff;
        if generation != d.generation {
            return Vec::new();
        }
        d.loading = false;
        self.dirty = true;
        match loaded {
            Ok(mut view) => {
                if let Some(old) = &d.view {
                    view.carry_over(old);
                }
                view.set_review(ReviewNote::latest(
                    &self.state,
                    d.source.as_ref().and_then(|s| s.task()),
                ));
                d.view = Some(view);
                d.error = None;
                d.highlights.clear();
            }
            Err(e) => {
                d.view = None;
                d.error = Some(e);
            }
        }
        if d.reload_pending {
            return self.load_diff();
        }
        Vec::new()
    }

    /// A file changed in a task's worktree (the watcher): the swarm lists it, and a diff of
    /// that task reloads.
    pub fn on_touched(&mut self, touched: Touched) -> Vec<Intent> {
        let files = self
            .screen
            .swarm
            .live
            .entry(touched.task.clone())
            .or_default();
        if files.insert(touched.path) {
            self.dirty = true;
        }
        let d = &mut self.screen.diff;
        if d.source.as_ref().and_then(|s| s.task()) != Some(touched.task.as_str()) {
            return Vec::new();
        }
        if d.loading {
            d.reload_pending = true;
            return Vec::new();
        }
        self.load_diff()
    }
}

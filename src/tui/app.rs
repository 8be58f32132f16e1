//! The console's update step (the Elm architecture): a core event, a reply or a key action
//! changes the view state and returns *intents* — commands to submit, a snapshot to take,
//! an alert to raise, quitting. Nothing here touches the terminal, the core or the clock;
//! `run` carries the intents out. Typing in the command bar goes through `on_text`.

use crate::protocol::model::{Role, Severity, TaskStatus};
use crate::protocol::{parse, Command, Event, EventKind, Reply, State, Target};

use super::command_bar::{complete, History};
use super::diff_source::DiffSource;
use super::diff_view::DiffView;
use super::keymap::{Action, Context};
use super::metrics_source::Figures;
use super::panes::{activity::Log, metrics::next_window, timeline};
use super::screen::{Confirm, Pane, Screen};
use super::watch::Touched;

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
    /// Completions offered for the command bar and which one is shown.
    completions: Vec<String>,
    completion: usize,
    /// The command bar's text field.
    editor: tui_textarea::TextArea<'static>,
}

const PAGE: usize = 10;

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
        if self.screen.help {
            return vec![Context::Help, Context::Global];
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
        self.state.apply(&ev);
        self.log.push(ev);
        self.dirty = true;
        if figures_read_it {
            out.extend(self.metrics_changed());
        }
        out
    }

    /// The core's answer to a command the console sent.
    pub fn on_reply(&mut self, reply: &Reply) {
        self.screen.reply = Some((reply.ok, reply.message.clone()));
        // `/status` opens its whole report (the health line does not fit the command bar).
        self.screen.report = match &reply.data {
            crate::protocol::ReplyData::Status(r) if reply.ok => Some(r.render_text()),
            _ => None,
        };
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
        if self.editor.input(key) {
            self.completions.clear();
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
        self.completions.clear();
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
        self.completions.clear();
    }

    fn selected_agent(&self) -> Option<String> {
        self.screen.swarm.agent(&self.state).map(|a| a.id.clone())
    }

    fn selected_concern(&self) -> Option<crate::protocol::model::ConcernId> {
        self.screen.concerns.concern(&self.state).map(|c| c.id)
    }

    /// The oldest pending approval (what approve and reject act on).
    fn pending_approval(&self) -> Option<String> {
        self.state
            .pending_approvals()
            .next()
            .map(|a| a.id.to_string())
    }

    fn rows(&self, pane: Pane) -> usize {
        match pane {
            Pane::Swarm => self.state.agents.len(),
            Pane::Concerns => self.state.open_concerns().count(),
            Pane::Timeline => timeline::entries(&self.state).len(),
            _ => usize::MAX,
        }
    }

    fn move_by(&mut self, delta: isize, to_end: Option<bool>) {
        let pane = self.screen.focus;
        let rows = self.rows(pane);
        let apply = |v: usize| -> usize {
            let max = rows.saturating_sub(1);
            match to_end {
                Some(false) => 0,
                Some(true) => max,
                None => (v as isize + delta).clamp(0, max as isize) as usize,
            }
        };
        match pane {
            Pane::Swarm => self.screen.swarm.selected = apply(self.screen.swarm.selected),
            Pane::Concerns => self.screen.concerns.selected = apply(self.screen.concerns.selected),
            Pane::Timeline => self.screen.timeline.selected = apply(self.screen.timeline.selected),
            Pane::Plan => self.screen.plan.offset = apply(self.screen.plan.offset),
            Pane::Qa => self.screen.qa.offset = apply(self.screen.qa.offset),
            Pane::Diff => {
                let page = self.screen.diff.page();
                if let Some(v) = self.screen.diff.view.as_mut() {
                    match to_end {
                        Some(false) => v.top(),
                        Some(true) => v.bottom(page),
                        None if delta.unsigned_abs() > 1 && delta < 0 => v.page_up(page),
                        None if delta.unsigned_abs() > 1 => v.page_down(page),
                        None if delta < 0 => v.up(),
                        None => v.down(),
                    };
                }
            }
            Pane::Metrics => {}
            Pane::Activity => {
                // Up goes back in time.
                let back = self.screen.activity.back as isize - delta;
                self.screen.activity.back = match to_end {
                    Some(false) => self.log.events.len(),
                    Some(true) => 0,
                    None => back.max(0) as usize,
                };
            }
        }
    }

    fn confirm(&mut self, title: &str, lines: Vec<String>, then: Command) {
        self.screen.confirm = Some(Confirm {
            title: title.into(),
            lines,
        });
        self.pending = Some(Pending::Submit(then));
    }

    /// What a Save would integrate, for its confirmation.
    fn save_summary(&self) -> Vec<String> {
        let done: Vec<String> = self
            .state
            .plan
            .as_ref()
            .map(|p| {
                p.tasks()
                    .filter(|t| t.status == TaskStatus::Done && !t.is_temporary)
                    .map(|t| t.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut lines = vec![if done.is_empty() {
            "no task is done yet: nothing to integrate".to_string()
        } else {
            format!("integrate the finished tasks: {}", done.join(", "))
        }];
        lines.push(
            "run the QA gates on the integration; on auto_merge move main and tag a checkpoint"
                .into(),
        );
        if self.state.dispatch_halted {
            lines.push("(dispatch is paused)".into());
        }
        lines
    }

    /// Shows `source` in the diff pane (loaded off the UI loop).
    pub fn open_diff(&mut self, source: DiffSource) -> Vec<Intent> {
        let d = &mut self.screen.diff;
        if d.source.as_ref() != Some(&source) {
            d.view = None;
        }
        d.source = Some(source);
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

    fn main_branch(&self) -> String {
        self.state
            .git
            .as_ref()
            .map(|g| g.main.clone())
            .unwrap_or_else(|| "main".into())
    }

    /// `d`: the selected agent's task, or what the selected checkpoint changed (against the
    /// marked one when there is a mark).
    fn diff_for_selection(&mut self) -> Vec<Intent> {
        match self.screen.focus {
            Pane::Swarm => {
                let Some(task) = self
                    .screen
                    .swarm
                    .agent(&self.state)
                    .and_then(|a| a.task.clone())
                else {
                    self.screen.reply = Some((false, "the selected agent has no task".into()));
                    return Vec::new();
                };
                let main = self.main_branch();
                self.open_diff(DiffSource::Task { task, main })
            }
            Pane::Timeline => {
                let Some(cp) = self.screen.timeline.checkpoint(&self.state) else {
                    return Vec::new();
                };
                let to = cp.name.clone();
                let from = match self.screen.timeline.marked.clone() {
                    Some(m) if m != to => m,
                    _ => cp
                        .previous
                        .clone()
                        .unwrap_or_else(|| format!("{}^", cp.commit)),
                };
                self.open_diff(DiffSource::Revisions { from, to })
            }
            _ => Vec::new(),
        }
    }

    pub fn on_action(&mut self, action: Action) -> Vec<Intent> {
        self.dirty = true;
        // Modal layers first.
        if self.screen.confirm.is_some() {
            return match action {
                Action::Confirm | Action::Select => {
                    self.screen.confirm = None;
                    match self.pending.take() {
                        Some(Pending::Submit(c)) => {
                            // Save and rollback show their steps as they happen.
                            self.screen.progress =
                                matches!(c, Command::Save | Command::Rollback { .. });
                            self.screen.finished = None;
                            vec![Intent::Submit(c)]
                        }
                        None => Vec::new(),
                    }
                }
                Action::Cancel | Action::Back | Action::Quit => {
                    self.screen.confirm = None;
                    self.pending = None;
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        if let Some(text) = self.screen.command.clone() {
            return match action {
                Action::Select | Action::Confirm => {
                    self.screen.command = None;
                    let line = text.trim().to_string();
                    if line.is_empty() || line == "/" {
                        return Vec::new();
                    }
                    self.history.push(&line);
                    match parse(&line) {
                        Ok(c) => vec![Intent::Submit(c)],
                        Err(e) => {
                            self.screen.reply = Some((false, e.to_string()));
                            Vec::new()
                        }
                    }
                }
                Action::Back | Action::Cancel => {
                    self.screen.command = None;
                    Vec::new()
                }
                Action::HistoryUp => {
                    if let Some(l) = self.history.up() {
                        let l = l.to_string();
                        self.set_command(l);
                    }
                    Vec::new()
                }
                Action::HistoryDown => {
                    let l = self.history.down().unwrap_or("/").to_string();
                    self.set_command(l);
                    Vec::new()
                }
                Action::Complete => {
                    if self.completions.is_empty() {
                        self.completions = complete(&text, &self.state);
                        self.completion = 0;
                    } else {
                        self.completion = (self.completion + 1) % self.completions.len();
                    }
                    if let Some(c) = self.completions.get(self.completion) {
                        let c = c.clone();
                        self.set_command(c);
                    }
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        match action {
            Action::Quit => return vec![Intent::Quit],
            Action::Help => self.screen.help = !self.screen.help,
            Action::Back | Action::Cancel => {
                if self.screen.help {
                    self.screen.help = false;
                } else if self.screen.progress {
                    self.screen.progress = false;
                } else if self.screen.report.is_some() {
                    self.screen.report = None;
                } else if self.screen.details {
                    self.screen.details = false;
                } else if !self.screen.warnings.is_empty() {
                    self.screen.warnings.clear();
                } else {
                    self.screen.activity.agent = None;
                    self.screen.activity.kind = None;
                    self.screen.activity.raw = false;
                    self.screen.zoom = false;
                }
            }
            Action::Palette => self.open_command("/"),
            Action::FocusNext => return self.focus(self.screen.focus.next()),
            Action::FocusPrev => return self.focus(self.screen.focus.previous()),
            Action::FocusSwarm => self.screen.focus = Pane::Swarm,
            Action::FocusConcerns => self.screen.focus = Pane::Concerns,
            Action::FocusPlan => self.screen.focus = Pane::Plan,
            Action::FocusQa => self.screen.focus = Pane::Qa,
            Action::FocusTimeline => self.screen.focus = Pane::Timeline,
            Action::FocusActivity => self.screen.focus = Pane::Activity,
            Action::FocusMetrics => return self.focus(Pane::Metrics),
            Action::MetricsWindow => {
                self.screen.metrics.window = next_window(self.screen.metrics.window);
                let out = self.load_metrics(false);
                self.screen.metrics.window_generation = self.screen.metrics.generation;
                return out;
            }
            Action::FocusDiff => {
                self.screen.focus = Pane::Diff;
                if self.screen.diff.source.is_none() && self.state.git.is_some() {
                    let main = self.main_branch();
                    return self.open_diff(DiffSource::Integration { main });
                }
            }
            Action::OpenDiff => return self.diff_for_selection(),
            Action::DiffIntegration => {
                let main = self.main_branch();
                return self.open_diff(DiffSource::Integration { main });
            }
            Action::Reload => return self.load_diff(),
            Action::Mark => {
                if let Some(cp) = self.screen.timeline.checkpoint(&self.state) {
                    let name = cp.name.clone();
                    let t = &mut self.screen.timeline;
                    t.marked = if t.marked.as_deref() == Some(name.as_str()) {
                        None
                    } else {
                        Some(name)
                    };
                }
            }
            Action::NextHunk
            | Action::PrevHunk
            | Action::NextFile
            | Action::PrevFile
            | Action::ToggleView => {
                if let Some(v) = self.screen.diff.view.as_mut() {
                    match action {
                        Action::NextHunk => v.next_hunk(),
                        Action::PrevHunk => v.prev_hunk(),
                        Action::NextFile => v.next_file(),
                        Action::PrevFile => v.prev_file(),
                        _ => v.toggle_layout(),
                    };
                }
            }
            Action::Up => self.move_by(-1, None),
            Action::Down => self.move_by(1, None),
            Action::PageUp => self.move_by(-(PAGE as isize), None),
            Action::PageDown => self.move_by(PAGE as isize, None),
            Action::Top => self.move_by(0, Some(false)),
            Action::Bottom => self.move_by(0, Some(true)),
            Action::Select => match self.screen.focus {
                // The selected agent's raw output in the activity pane.
                Pane::Swarm => {
                    if let Some(a) = self.selected_agent() {
                        self.screen.activity.agent = Some(a);
                        self.screen.activity.raw = true;
                        self.screen.focus = Pane::Activity;
                    }
                }
                Pane::Concerns => {
                    self.screen.details = !self.screen.details && self.selected_concern().is_some();
                }
                Pane::Diff => {
                    if let Some(v) = self.screen.diff.view.as_mut() {
                        v.toggle_focus();
                    }
                }
                _ => self.screen.zoom = !self.screen.zoom,
            },
            Action::Filter => {
                // Cycle: all → the selected agent's events → its raw output → all.
                let a = &mut self.screen.activity;
                match (&a.agent, a.raw) {
                    (None, _) => {
                        a.agent = self.screen.swarm.agent(&self.state).map(|x| x.id.clone())
                    }
                    (Some(_), false) => a.raw = true,
                    (Some(_), true) => {
                        a.agent = None;
                        a.raw = false;
                    }
                }
            }
            Action::Save => {
                let lines = self.save_summary();
                self.confirm("Save", lines, Command::Save);
            }
            Action::Rollback => {
                if let Some(cp) = self.screen.timeline.checkpoint(&self.state) {
                    let name = cp.name.clone();
                    self.confirm(
                        "Roll back",
                        vec![
                            format!("restore {name} as a new commit on main (history is kept)"),
                            format!("checkpoint summary: {}", cp.summary),
                        ],
                        Command::Rollback {
                            checkpoint: name,
                            branch: None,
                            reason: Some("rolled back from the console".into()),
                        },
                    );
                }
            }
            Action::Approve => {
                if let Some(a) = self.pending_approval() {
                    self.open_command(format!("/approve {a} "));
                }
            }
            Action::Reject => {
                if let Some(a) = self.pending_approval() {
                    self.open_command(format!("/reject {a} "));
                }
            }
            Action::Ack => {
                if let Some(c) = self.selected_concern() {
                    return vec![Intent::Submit(Command::Ack { concern: c })];
                }
            }
            Action::Resolve => {
                if let Some(c) = self.selected_concern() {
                    self.open_command(format!("/resolve {c} "));
                }
            }
            Action::Assign => {
                if let Some(c) = self.selected_concern() {
                    // An agent of the role the concern is addressed to, if there is one.
                    let to = self.screen.concerns.concern(&self.state).map(|c| c.to);
                    let agent = self
                        .state
                        .agents
                        .values()
                        .find(|a| Some(a.role) == to && to != Some(Role::Human))
                        .map(|a| a.id.clone())
                        .unwrap_or_default();
                    self.open_command(format!("/assign {agent} {c} "));
                }
            }
            Action::Pause => {
                if let Some(a) = self.selected_agent() {
                    return vec![Intent::Submit(Command::Pause {
                        target: Target::Agent(a),
                    })];
                }
            }
            Action::Resume => {
                if let Some(a) = self.selected_agent() {
                    return vec![Intent::Submit(Command::Resume {
                        target: Target::Agent(a),
                    })];
                }
            }
            Action::Clarify => {
                if let Some(a) = self.selected_agent() {
                    self.open_command(format!("/clarify {a} "));
                }
            }
            Action::PauseAll => {
                let command = if self.state.dispatch_halted {
                    Command::Resume {
                        target: Target::All,
                    }
                } else {
                    Command::Pause {
                        target: Target::All,
                    }
                };
                return vec![Intent::Submit(command)];
            }
            _ => {}
        }
        Vec::new()
    }
}

//! The console's update step (the Elm architecture): a core event, a reply or a key action
//! changes the view state and returns *intents* — commands to submit, a snapshot to take,
//! an alert to raise, quitting. Nothing here touches the terminal, the core or the clock;
//! `run` carries the intents out. Typing in the command bar goes through `on_text`.

use crate::protocol::model::{Role, Severity, TaskStatus};
use crate::protocol::{parse, Command, Event, EventKind, Reply, State, Target};

use super::command_bar::{complete, History};
use super::keymap::{Action, Context};
use super::panes::{activity::Log, timeline};
use super::screen::{Confirm, Pane, Screen};

/// What the app asks its runner to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Submit(Command),
    /// The event stream had a gap: replace the state with a fresh snapshot.
    Snapshot,
    /// A critical concern arrived (bell, desktop notification).
    Alert(Box<crate::protocol::model::Concern>),
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
        };
        vec![pane, Context::Global]
    }

    pub fn on_snapshot(&mut self, state: State) {
        self.state = state;
        self.dirty = true;
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
            } => self.screen.reply = Some((outcome.is_success(), message.clone())),
            _ => {}
        }
        self.state.apply(&ev);
        self.log.push(ev);
        self.dirty = true;
        out
    }

    /// The core's answer to a command the console sent.
    pub fn on_reply(&mut self, reply: &Reply) {
        self.screen.reply = Some((reply.ok, reply.message.clone()));
        self.dirty = true;
    }

    /// Text typed into the command bar (the runner routes printable keys here while the
    /// command bar is open).
    pub fn on_text(&mut self, c: char) {
        if let Some(t) = self.screen.command.as_mut() {
            t.push(c);
            self.completions.clear();
            self.dirty = true;
        }
    }

    pub fn on_backspace(&mut self) {
        if let Some(t) = self.screen.command.as_mut() {
            t.pop();
            self.completions.clear();
            self.dirty = true;
        }
    }

    fn open_command(&mut self, text: impl Into<String>) {
        self.screen.command = Some(text.into());
        self.completions.clear();
        self.dirty = true;
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

    pub fn on_action(&mut self, action: Action) -> Vec<Intent> {
        self.dirty = true;
        // Modal layers first.
        if self.screen.confirm.is_some() {
            return match action {
                Action::Confirm | Action::Select => {
                    self.screen.confirm = None;
                    match self.pending.take() {
                        Some(Pending::Submit(c)) => vec![Intent::Submit(c)],
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
                        self.screen.command = Some(l.to_string());
                    }
                    Vec::new()
                }
                Action::HistoryDown => {
                    self.screen.command = Some(self.history.down().unwrap_or("/").to_string());
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
                        self.screen.command = Some(c.clone());
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
            Action::FocusNext => self.screen.focus = self.screen.focus.next(),
            Action::FocusPrev => self.screen.focus = self.screen.focus.previous(),
            Action::FocusSwarm => self.screen.focus = Pane::Swarm,
            Action::FocusConcerns => self.screen.focus = Pane::Concerns,
            Action::FocusPlan => self.screen.focus = Pane::Plan,
            Action::FocusQa => self.screen.focus = Pane::Qa,
            Action::FocusTimeline => self.screen.focus = Pane::Timeline,
            Action::FocusActivity => self.screen.focus = Pane::Activity,
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

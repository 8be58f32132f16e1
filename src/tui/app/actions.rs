//! The console's key actions: the modal layers first (a confirmation, the command bar), then
//! one handler per family — overlays, focus, the diff, moving, selecting, checkpoints,
//! concerns and approvals, agents. Each changes the view state and returns the intents.

use crate::protocol::model::{Role, TaskStatus};
use crate::protocol::{Command, Target};

use super::{App, Intent, Pending};
use crate::tui::diff_source::DiffSource;
use crate::tui::keymap::Action;
use crate::tui::panes::{activity, inner, metrics::next_window, plan, qa, timeline};
use crate::tui::screen::{self, Confirm, Pane};

const PAGE: usize = 10;

/// Why a key that acts on a selection did nothing.
const NO_AGENT: &str = "no agent is selected: there are none yet";
const NO_CONCERN: &str = "no concern is selected: none is open";
const NO_CHECKPOINT: &str = "no checkpoint yet: a Save makes the first";

impl App {
    pub fn on_action(&mut self, action: Action) -> Vec<Intent> {
        self.dirty = true;
        // Modal layers first.
        if self.screen.confirm.is_some() {
            return self.on_confirm_action(action);
        }
        if let Some(text) = self.screen.command.clone() {
            return self.on_command_bar_action(action, text);
        }
        if self.screen.help {
            return self.on_help_action(action);
        }
        if self.layers().first() == Some(&crate::tui::keymap::Context::Answer) {
            return self.on_answer_action(action);
        }
        match action {
            Action::Quit => vec![Intent::Quit],
            Action::Help | Action::Back | Action::Cancel | Action::Palette => {
                self.on_overlay_action(action)
            }
            Action::FocusNext
            | Action::FocusPrev
            | Action::FocusSwarm
            | Action::FocusConcerns
            | Action::FocusPlan
            | Action::FocusQa
            | Action::FocusTimeline
            | Action::FocusActivity
            | Action::FocusMetrics
            | Action::MetricsWindow
            | Action::FocusDiff => self.on_focus_action(action),
            Action::OpenDiff
            | Action::DiffIntegration
            | Action::Reload
            | Action::NextHunk
            | Action::PrevHunk
            | Action::NextFile
            | Action::PrevFile
            | Action::ToggleView
            | Action::Search
            | Action::ScrollLeft
            | Action::ScrollRight
            | Action::LineStart
            | Action::Wrap => self.on_diff_action(action),
            Action::Mark => self.toggle_mark(),
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.on_move_action(action),
            Action::Select => self.on_select(),
            Action::Filter if self.screen.focus == Pane::Diff => self.on_diff_action(action),
            Action::Filter => self.cycle_filter(),
            Action::Save | Action::Rollback => self.on_checkpoint_action(action),
            Action::Approve | Action::Reject | Action::Ack | Action::Resolve | Action::Assign => {
                self.on_concern_action(action)
            }
            Action::Pause | Action::Resume | Action::Clarify | Action::PauseAll => {
                self.on_agent_action(action)
            }
            _ => Vec::new(),
        }
    }

    /// A confirmation is open: confirm submits what it asked about, cancel drops it.
    fn on_confirm_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
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
        }
    }

    /// The command bar is open with `text`: submit, close, history, completion.
    fn on_command_bar_action(&mut self, action: Action, text: String) -> Vec<Intent> {
        match action {
            // Enter on an open menu takes the candidate shown; else it submits.
            Action::Select | Action::Confirm if self.screen.completion.is_some() => {
                self.screen.completion = None;
                Vec::new()
            }
            Action::Select | Action::Confirm => {
                self.screen.command = None;
                self.submit_line(&text)
            }
            Action::Back | Action::Cancel if self.screen.completion.is_some() => {
                self.screen.completion = None;
                Vec::new()
            }
            Action::Back | Action::Cancel => {
                self.screen.command = None;
                Vec::new()
            }
            Action::HistoryUp => {
                self.screen.completion = None;
                if let Some(l) = self.history.up() {
                    let l = l.to_string();
                    self.set_command(l);
                }
                Vec::new()
            }
            Action::HistoryDown => {
                self.screen.completion = None;
                let l = self.history.down().unwrap_or("/").to_string();
                self.set_command(l);
                Vec::new()
            }
            Action::Complete => {
                self.complete_step(true);
                Vec::new()
            }
            Action::CompletePrev => {
                self.complete_step(false);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Help, the command bar, and back: closes the topmost overlay, else clears the filters.
    fn on_overlay_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
            Action::Help => {
                self.screen.help = !self.screen.help;
                self.screen.help_view = Default::default();
            }
            Action::Back | Action::Cancel => {
                if self.screen.help {
                    self.screen.help = false;
                } else if self.screen.progress {
                    self.screen.progress = false;
                } else if self.screen.answer.is_some() {
                    self.screen.answer = None;
                } else if self.screen.details {
                    self.screen.details = false;
                } else if !self.screen.warnings.is_empty() {
                    self.screen.warnings.clear();
                } else if self.screen.focus == Pane::Diff {
                    self.diff_back();
                } else {
                    self.screen.activity.agent = None;
                    self.screen.activity.kind = None;
                    self.screen.activity.raw = false;
                    self.screen.zoom = false;
                }
            }
            Action::Palette => self.open_command("/"),
            _ => {}
        }
        Vec::new()
    }

    /// Which pane has focus, and the metrics pane's window.
    fn on_focus_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
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
                self.entering_diff();
                self.screen.focus = Pane::Diff;
                if self.screen.diff.source.is_none() && self.state.git.is_some() {
                    let main = self.main_branch();
                    return self.open_diff(DiffSource::Integration { main });
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Which diff to show, reloading it, and moving through it by hunk and file.
    fn on_diff_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
            Action::OpenDiff => return self.diff_for_selection(),
            Action::DiffIntegration => {
                let main = self.main_branch();
                return self.open_diff(DiffSource::Integration { main });
            }
            Action::Reload => return self.load_diff(),
            _ if self.on_diff_view_action(action) => {}
            _ => {
                if let Some(v) = self.screen.diff.view.as_mut() {
                    match action {
                        Action::NextHunk => v.next_hunk(),
                        Action::PrevHunk => v.prev_hunk(),
                        Action::NextFile => v.next_file(),
                        Action::PrevFile => v.prev_file(),
                        Action::ToggleView => v.toggle_layout(),
                        _ => false,
                    };
                }
            }
        }
        Vec::new()
    }

    /// Marks the selected checkpoint (the base of the next checkpoint diff), or unmarks it.
    fn toggle_mark(&mut self) -> Vec<Intent> {
        if self.screen.timeline.checkpoint(&self.state).is_none() {
            self.say(NO_CHECKPOINT);
        }
        if let Some(cp) = self.screen.timeline.checkpoint(&self.state) {
            let name = cp.name.clone();
            let t = &mut self.screen.timeline;
            t.marked = if t.marked.as_deref() == Some(name.as_str()) {
                None
            } else {
                Some(name)
            };
        }
        Vec::new()
    }

    fn on_move_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
            Action::Up => self.move_by(-1, None),
            Action::Down => self.move_by(1, None),
            Action::PageUp => self.move_by(-(PAGE as isize), None),
            Action::PageDown => self.move_by(PAGE as isize, None),
            Action::Top => self.move_by(0, Some(false)),
            Action::Bottom => self.move_by(0, Some(true)),
            _ => {}
        }
        self.older_concerns()
    }

    /// Enter on the focused pane.
    fn on_select(&mut self) -> Vec<Intent> {
        match self.screen.focus {
            // The selected agent's raw output in the activity pane.
            Pane::Swarm => match self.selected_agent() {
                Some(a) => {
                    self.screen.activity.agent = Some(a);
                    self.screen.activity.raw = true;
                    self.screen.focus = Pane::Activity;
                }
                None => self.say(NO_AGENT),
            },
            Pane::Concerns => {
                self.screen.details = !self.screen.details && self.selected_concern().is_some();
                if self.selected_concern().is_none() {
                    self.say(NO_CONCERN);
                }
            }
            Pane::Diff => {
                if let Some(v) = self.screen.diff.view.as_mut() {
                    v.toggle_focus();
                }
            }
            _ => self.screen.zoom = !self.screen.zoom,
        }
        Vec::new()
    }

    /// Cycle: all → the selected agent's events → its raw output → all. In the concerns
    /// pane: open → resolved → all concerns.
    fn cycle_filter(&mut self) -> Vec<Intent> {
        if self.screen.focus == Pane::Concerns {
            let c = &mut self.screen.concerns;
            c.shown = c.shown.next();
            c.selected = 0;
            c.offset = 0;
            return self.older_concerns();
        }
        let a = &mut self.screen.activity;
        match (&a.agent, a.raw) {
            (None, _) => a.agent = self.screen.swarm.agent(&self.state).map(|x| x.id.clone()),
            (Some(_), false) => a.raw = true,
            (Some(_), true) => {
                a.agent = None;
                a.raw = false;
            }
        }
        Vec::new()
    }

    /// Save and rollback ask for a confirmation first.
    fn on_checkpoint_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
            Action::Save => match self.save_summary() {
                Ok(lines) => self.confirm("Save", lines, Command::Save),
                // Nothing to ask about: say so instead.
                Err(why) => self.say(why),
            },
            Action::Rollback => {
                if self.screen.timeline.checkpoint(&self.state).is_none() {
                    self.say(NO_CHECKPOINT);
                }
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
            _ => {}
        }
        Vec::new()
    }

    /// Approvals and concerns: acknowledging submits at once; the others open the command bar
    /// with the command started.
    fn on_concern_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
            Action::Approve | Action::Reject => match self.pending_approval() {
                Some(a) if action == Action::Approve => self.open_command(format!("/approve {a} ")),
                Some(a) => self.open_command(format!("/reject {a} ")),
                None => self.say("nothing awaits your approval"),
            },
            Action::Ack => {
                if let Some(c) = self.selected_concern() {
                    return vec![Intent::Submit(Command::Ack { concern: c })];
                }
            }
            Action::Resolve => {
                if let Some(c) = self.selected_concern() {
                    self.open_command(format!("/resolve {c} "));
                    let category = self
                        .screen
                        .concerns
                        .concern(&self.state)
                        .map(|c| c.category.as_str());
                    if category == Some(crate::protocol::permission::CATEGORY) {
                        // An agent waits for one of the three answers.
                        let hint = format!("answer: {}", crate::protocol::permission::ANSWERS);
                        self.screen.reply = Some((true, hint));
                    }
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
                    // The cursor waits in the agent's place (tab completes it there).
                    let line = format!("/assign {agent} {c} ");
                    self.open_command(line);
                    self.set_cursor("/assign ".len() + agent.chars().count());
                }
            }
            _ => {}
        }
        // Acknowledge, resolve and assign act on the selected concern.
        if action != Action::Approve
            && action != Action::Reject
            && self.selected_concern().is_none()
        {
            self.say(NO_CONCERN);
        }
        Vec::new()
    }

    /// Pausing and resuming the selected agent (or all dispatch), and asking it a question.
    fn on_agent_action(&mut self, action: Action) -> Vec<Intent> {
        match action {
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
        // Pause, resume and clarify act on the selected agent.
        if action != Action::PauseAll && self.selected_agent().is_none() {
            self.say(NO_AGENT);
        }
        Vec::new()
    }

    /// Says in the status line why a key did nothing.
    fn say(&mut self, why: impl Into<String>) {
        self.screen.reply = Some((false, why.into()));
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

    /// The furthest a pane's selection (lists) or first line (scrolled text) can go.
    fn last_position(&self, pane: Pane) -> usize {
        let scrolled = |lines: usize| lines.saturating_sub(self.pane_height(pane));
        match pane {
            Pane::Swarm => self.state.agents.len().saturating_sub(1),
            Pane::Concerns => self.screen.concerns.count(&self.state).saturating_sub(1),
            Pane::Timeline => timeline::entries(&self.state).len().saturating_sub(1),
            Pane::Plan => scrolled(plan::line_count(&self.state)),
            Pane::Qa => scrolled(qa::line_count(&self.state)),
            Pane::Activity => activity::last_back(
                &self.screen.activity,
                &self.log,
                self.pane_height(Pane::Activity),
            ),
            Pane::Diff | Pane::Metrics => 0,
        }
    }

    /// The rows inside a pane's frame in the last frame's layout (0 when it is not shown).
    fn pane_height(&self, pane: Pane) -> usize {
        screen::areas(&self.screen, self.screen.size)
            .and_then(|a| a.panes.into_iter().find(|(p, _)| *p == pane))
            .map_or(0, |(_, r)| inner(r).height as usize)
    }

    fn move_by(&mut self, delta: isize, to_end: Option<bool>) {
        let pane = self.screen.focus;
        let last = self.last_position(pane);
        // Saturating, and clamped to what the pane holds now (it may have shrunk since).
        let apply = |v: usize| -> usize {
            match to_end {
                Some(false) => 0,
                Some(true) => last,
                None => v.min(last).saturating_add_signed(delta).min(last),
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
                self.screen.activity.back = match to_end {
                    Some(false) => last,
                    Some(true) => 0,
                    None => self
                        .screen
                        .activity
                        .back
                        .min(last)
                        .saturating_add_signed(delta.saturating_neg())
                        .min(last),
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

    /// What a Save would integrate, for its confirmation: the finished tasks `main` does not
    /// hold (by the timeline: those a rollback took out are named apart, since a Save brings
    /// them back only with new work on their branches). `Err`: why there is nothing to save.
    fn save_summary(&self) -> Result<Vec<String>, String> {
        let on_main = crate::protocol::model::on_main(&self.state.checkpoints);
        let done: Vec<&str> = self
            .state
            .plan
            .iter()
            .flat_map(|p| p.tasks())
            .filter(|t| t.status == TaskStatus::Done && !t.is_temporary)
            .map(|t| t.id.as_str())
            .filter(|t| !on_main.tasks.contains_key(*t))
            .collect();
        let (taken_out, new): (Vec<&str>, Vec<&str>) = done
            .into_iter()
            .partition(|t| on_main.taken_out.contains_key(*t));
        if new.is_empty() && taken_out.is_empty() {
            let any_done = self
                .state
                .plan
                .iter()
                .flat_map(|p| p.tasks())
                .any(|t| t.status == TaskStatus::Done && !t.is_temporary);
            return Err(if any_done {
                "nothing to save: every finished task is already on main".into()
            } else {
                "nothing to save: no task is done yet".into()
            });
        }
        let mut lines = Vec::new();
        if !new.is_empty() {
            lines.push(format!(
                "integrate {}: {}",
                crate::tui::text::plural(new.len(), "finished task"),
                new.join(", ")
            ));
        }
        for t in &taken_out {
            lines.push(format!(
                "{t}: taken out of main by {}; integrated again only with new work on its branch",
                on_main.taken_out[*t]
            ));
        }
        lines.push(
            "run the QA gates on the integration; on auto_merge move main and tag a checkpoint"
                .into(),
        );
        if self.state.dispatch_halted {
            lines.push("(dispatch is paused)".into());
        }
        Ok(lines)
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
                let Some(agent) = self.screen.swarm.agent(&self.state) else {
                    self.say(NO_AGENT);
                    return Vec::new();
                };
                let Some(task) = agent.task.clone() else {
                    let why = format!("{} has no task to show", agent.id);
                    self.say(why);
                    return Vec::new();
                };
                let main = self.main_branch();
                self.open_diff(DiffSource::Task { task, main })
            }
            Pane::Timeline => {
                let Some(cp) = self.screen.timeline.checkpoint(&self.state) else {
                    self.say(NO_CHECKPOINT);
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
}

//! The figures kept as events are appended (issue 23), instead of folding the whole trail for
//! every window. Pure, like `compute`: the I/O (reading the new records, storing this in the
//! audit database) is `core::metrics_reader`'s.
//!
//! - [`Running`] folds every event once, as it comes: the whole-log fold of [`compute`]'s own
//!   [`Tally`] (window `all`, no `now` yet), the points per checkpoint, the newest
//!   checkpoint's time, the newest stamp, and each failed task's last note (for the digest).
//!   The figures over `all` are that fold closed at `now`: no event is read again.
//! - Every [`MARK_EVERY`] records it takes a [`Mark`]: the state of the log a window starting
//!   later needs (agents' states, open concerns, QA runs under way, the kill switch) and the
//!   newest stamp so far. A window starting at `start` (24 h, 7 days, the last checkpoint) is
//!   folded from the newest mark whose events are all stamped before `start`: only the events
//!   since that mark are read, and none of them before it counts in the window.
//! - Both are exact: the same code as the full fold, resumed. When an event is stamped after
//!   `now` (`--now` in the past, a clock ahead), the fold without `now` is not the fold up to
//!   `now`, so the caller replays the trail instead ([`Plan::Replay`]), streaming.
//!
//! [`compute`]: super::compute

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::compute::{Carried, Tally};
use super::series::SeriesFold;
use super::tasks::{FailedNote, TaskRow};
use super::{parse_ms, CheckpointPoint, Metrics, Window, DAY_MS};
use crate::protocol::model::TaskStatus;
use crate::protocol::{Event, EventKind};

/// Records between two marks.
pub const MARK_EVERY: u64 = 4096;

/// Version of the stored [`Running`] and [`Mark`]: another version is not read (the trail is
/// folded again).
pub const RUNNING_VERSION: i64 = 2;

/// The whole log folded so far, record by record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Running {
    /// The last record folded.
    pub through: u64,
    /// Stored records that could not be read as events (data corruption).
    pub unreadable_records: u64,
    /// The newest readable stamp (ms).
    pub max_at: Option<i64>,
    /// The newest `checkpoint_created` stamp (ms).
    latest_checkpoint: Option<i64>,
    /// The whole log's fold. Its per-task maps hold only the tasks' figures since the fold
    /// was stored: the rest are the stored task rows ([`super::tasks`]).
    whole: Tally,
    series: SeriesFold,
    /// Each task's last `task_status_changed` to `failed` since the fold was stored: its note.
    failed_notes: BTreeMap<String, Option<String>>,
    /// Each day's last `daily_report_written`: its record and `through_seq`.
    reports: BTreeMap<String, (u64, u64)>,
}

/// The state of the log after record `seq`: what a window starting after `max_at` needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub seq: u64,
    /// The newest stamp of the events up to `seq` (`None`: none readable).
    pub max_at: Option<i64>,
    carried: Carried,
}

/// How to get the figures over a window as of a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// From the running fold alone (window `all`).
    Whole,
    /// Folding the events after the newest mark stamped before `start`
    /// ([`Running::window_fold`]).
    From { start: i64 },
    /// An event is stamped after `now`: a full fold of the trail ([`super::compute`]'s, fed
    /// by [`Replay`]).
    Replay,
}

impl Default for Running {
    fn default() -> Running {
        Running {
            through: 0,
            unreadable_records: 0,
            max_at: None,
            latest_checkpoint: None,
            whole: Tally::new(Window::All, "", i64::MAX, None),
            series: SeriesFold::new(i64::MAX),
            failed_notes: BTreeMap::new(),
            reports: BTreeMap::new(),
        }
    }
}

impl Running {
    /// Folds stored record `seq` (an event's JSON, or something unreadable); the mark it
    /// completes, every [`MARK_EVERY`] records.
    pub fn push_body(&mut self, seq: u64, body: &str) -> Option<Mark> {
        match Event::from_json(body) {
            Ok(e) => self.push(seq, &e),
            Err(_) => {
                self.unreadable_records += 1;
                self.advance(seq)
            }
        }
    }

    /// Folds event `e`, stored as record `seq`; the mark it completes, if any.
    pub fn push(&mut self, seq: u64, e: &Event) -> Option<Mark> {
        if let Some(t) = parse_ms(&e.at) {
            self.max_at = Some(self.max_at.map_or(t, |m| m.max(t)));
            if matches!(e.kind, EventKind::CheckpointCreated { .. }) {
                self.latest_checkpoint = Some(self.latest_checkpoint.map_or(t, |c| c.max(t)));
            }
        }
        if let EventKind::TaskStatusChanged {
            task,
            status: TaskStatus::Failed,
            note,
        } = &e.kind
        {
            self.failed_notes.insert(task.clone(), note.clone());
        }
        if let EventKind::DailyReportWritten {
            date, through_seq, ..
        } = &e.kind
        {
            self.reports.insert(date.clone(), (seq, *through_seq));
        }
        self.whole.event(e);
        self.series.event(e);
        self.advance(seq)
    }

    fn advance(&mut self, seq: u64) -> Option<Mark> {
        let crossed = seq / MARK_EVERY > self.through / MARK_EVERY;
        self.through = self.through.max(seq);
        crossed.then(|| Mark {
            seq,
            max_at: self.max_at,
            carried: self.whole.carried().clone(),
        })
    }

    /// The note of the last `task_status_changed` that failed `task` since the fold was
    /// stored (`None`: none did since).
    pub fn failed_note_since_stored(&self, task: &str) -> Option<Option<String>> {
        self.failed_notes.get(task).cloned()
    }

    /// The per-task figures gathered since the fold was stored, as rows (to merge onto the
    /// stored ones).
    pub fn task_rows_since_stored(&self) -> BTreeMap<String, TaskRow> {
        let mut rows = BTreeMap::new();
        self.whole.task_rows(&mut rows);
        for (task, note) in &self.failed_notes {
            let note = note.clone();
            rows.entry(task.clone()).or_default().failed = Some(FailedNote { note });
        }
        rows
    }

    /// Forgets the per-task figures once their rows are stored: what is left does not grow
    /// with the tasks.
    pub fn clear_task_rows(&mut self) {
        self.whole.clear_tasks();
        self.failed_notes.clear();
    }

    /// How many per-task entries the fold holds (what it gathered since it was stored).
    pub fn task_entries(&self) -> usize {
        self.whole.task_entries() + self.failed_notes.len()
    }

    /// The `through_seq` of the last `daily_report_written` (in log order) of a day before
    /// `date` (0: none).
    pub fn report_before(&self, date: &str) -> u64 {
        self.reports
            .iter()
            .filter(|(d, _)| d.as_str() < date)
            .map(|(_, r)| *r)
            .max()
            .map_or(0, |(_, through)| through)
    }

    /// Where `window` as of `now_ms` starts (`None`: the beginning), when the running fold
    /// holds nothing stamped after `now_ms`.
    fn start(&self, window: Window, now_ms: i64) -> Option<i64> {
        match window {
            Window::Last24h => Some(now_ms - DAY_MS),
            Window::Last7d => Some(now_ms - 7 * DAY_MS),
            Window::SinceCheckpoint => self.latest_checkpoint,
            Window::All => None,
        }
    }

    fn dominated(&self, now_ms: i64) -> bool {
        self.max_at.is_none_or(|m| m <= now_ms)
    }

    /// How the figures over `window` as of `now_ms` are computed.
    pub fn plan(&self, window: Window, now_ms: i64) -> Plan {
        if !self.dominated(now_ms) {
            return Plan::Replay;
        }
        match self.start(window, now_ms) {
            None => Plan::Whole,
            Some(start) => Plan::From { start },
        }
    }

    /// The figures over `window` as of `now` when it is the whole log (`Plan::Whole`: `all`,
    /// or `checkpoint` before the first checkpoint).
    /// `rows`: every task's row over the whole log (the stored rows with
    /// [`Running::task_rows_since_stored`] merged on).
    pub fn whole(
        &self,
        rows: BTreeMap<String, TaskRow>,
        window: Window,
        now: &str,
        now_ms: i64,
    ) -> Metrics {
        let full = self.whole.with_tasks(rows);
        full.figures(&full, full.attempts(), window, now, now_ms)
    }

    /// A fold of `window` from `mark` (the newest whose `max_at` is before `start`; `None`:
    /// the beginning): feed it the events after the mark up to [`Running::through`], then
    /// [`WindowFold::finish`].
    pub fn window_fold(
        &self,
        mark: Option<&Mark>,
        window: Window,
        now: &str,
        now_ms: i64,
        start: i64,
    ) -> WindowFold {
        let carried = mark.map(|m| m.carried.clone()).unwrap_or_default();
        WindowFold(Tally::resume(carried, window, now, now_ms, Some(start)))
    }

    /// The points per checkpoint over `window` as of `now_ms`; `None` when an event is
    /// stamped after `now_ms` (replay them with [`Replay`]).
    pub fn points(&self, window: Window, now_ms: i64) -> Option<Vec<CheckpointPoint>> {
        self.dominated(now_ms)
            .then(|| self.series.points(self.start(window, now_ms)))
    }
}

/// A window's fold resumed from a mark.
pub struct WindowFold(Tally);

impl WindowFold {
    pub fn event(&mut self, e: &Event) {
        self.0.event(e)
    }

    /// The figures; the whole-log ones are `running`'s (folded up to the same record).
    pub fn finish(self, running: &Running, attempts: &BTreeMap<String, u32>) -> Metrics {
        self.0.finish_with(&running.whole, attempts)
    }

    /// The tasks whose attempts over the whole log [`WindowFold::finish`] needs, sorted.
    pub fn finished_tasks(&self) -> Vec<String> {
        self.0.finished_tasks().cloned().collect()
    }
}

/// The full fold of the trail as of `now`, for [`Plan::Replay`]: the events are streamed
/// through it (twice for `checkpoint`: once to find the window's start), never held.
pub struct Replay {
    tally: Tally,
    series: SeriesFold,
    start: Option<i64>,
}

impl Replay {
    /// Whether `window` needs a first pass ([`Replay::first_pass`] on every event) to find
    /// where it starts.
    pub fn needs_first_pass(window: Window) -> bool {
        window == Window::SinceCheckpoint
    }

    /// The first pass's step: the newest checkpoint stamped at or before `now_ms`.
    pub fn first_pass(newest: &mut Option<i64>, e: &Event, now_ms: i64) {
        if matches!(e.kind, EventKind::CheckpointCreated { .. }) {
            if let Some(t) = parse_ms(&e.at).filter(|t| *t <= now_ms) {
                *newest = Some(newest.map_or(t, |n| n.max(t)));
            }
        }
    }

    /// `checkpoint`: what the first pass found.
    pub fn new(window: Window, now: &str, now_ms: i64, checkpoint: Option<i64>) -> Replay {
        let start = match window {
            Window::Last24h => Some(now_ms - DAY_MS),
            Window::Last7d => Some(now_ms - 7 * DAY_MS),
            Window::SinceCheckpoint => checkpoint,
            Window::All => None,
        };
        Replay {
            tally: Tally::new(window, now, now_ms, start),
            series: SeriesFold::new(now_ms),
            start,
        }
    }

    pub fn event(&mut self, e: &Event) {
        self.tally.event(e);
        self.series.event(e);
    }

    /// The figures and the points per checkpoint.
    pub fn finish(self) -> (Metrics, Vec<CheckpointPoint>) {
        (self.tally.finish(), self.series.points(self.start))
    }
}

//! The metrics read from the store incrementally (issue 23): the CLI, `/metrics`, the owner's
//! monitor, the console's metrics pane and the digest all go through a [`MetricsReader`].
//!
//! It keeps `metrics::Running` (the whole log folded so far, small) instead of the events:
//! it starts from the copy stored in the audit database (`store::metric_folds`), folds the
//! records stored since, page by page, and stores its fold again when it got
//! [`STORE_EVERY`] records further (with the marks it took), where the store can be written.
//! Each task's figures are stored as a row of their own (`metrics::tasks`) and merged on at
//! each store, so the fold in memory holds only the tasks seen since it was stored; a window
//! reads the rows of the tasks it counts, `all` every row. A stored fold is replaced only by
//! one that went on from it: a reader that finds another process stored first reads that
//! one again.
//! A window shorter than `all` reads only the events since the newest mark before the window
//! (`metrics::running`). Nothing holds the trail: memory is the fold, one page of events and
//! the window's events.

use std::collections::BTreeMap;

use crate::metrics::running::{Plan, Replay, RUNNING_VERSION};
use crate::metrics::tasks::TaskRow;
use crate::metrics::{parse_ms, CheckpointPoint, Mark, Metrics, Running, Window};
use crate::protocol::Event;
use crate::store::metric_folds::{FoldWrite, MarkRow, Saved};
use crate::store::{Store, StoreError};

/// Events read at a time.
const PAGE: usize = 2048;
/// Records the fold gets ahead of its stored copy before it is stored again.
pub const STORE_EVERY: u64 = 1024;
/// No upper bound on the record read.
const UNBOUNDED: u64 = i64::MAX as u64;

/// Per-task entries the fold may gather before it is stored in the middle of a catch-up (a
/// long catch-up, from the beginning, stays within this).
const STORE_TASKS: usize = 4096;

/// The metrics' view of one store, caught up on demand.
#[derive(Debug, Default)]
pub struct MetricsReader {
    running: Running,
    loaded: bool,
    /// Marks taken since the fold was last stored (all of them where it cannot be).
    marks: Vec<Mark>,
    /// The stored fold this one goes on from (0: from the beginning of the trail).
    stored_through: u64,
    /// The stored fold is not to be read (one of its task rows could not be): fold the trail
    /// from the beginning and store that over it.
    scratch: bool,
}

/// What a reading of the figures found.
enum Answer {
    Figures(Box<Option<(Metrics, Vec<CheckpointPoint>)>>),
    /// The stored fold changed under the reader: read it again.
    Stale,
}

/// Calls `each` on every readable event stored after record `after` and up to `through`,
/// a page at a time.
fn each_event(
    store: &Store,
    mut after: u64,
    through: u64,
    mut each: impl FnMut(&Event),
) -> Result<(), StoreError> {
    loop {
        let page = store.event_page(after, through, PAGE)?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = *last;
        for (_, body) in &page {
            if let Ok(e) = Event::from_json(body) {
                each(&e);
            }
        }
    }
}

impl MetricsReader {
    /// The running fold as far as it was caught up.
    pub fn running(&self) -> &Running {
        &self.running
    }

    /// Stored records that could not be read as events (data corruption).
    pub fn unreadable(&self) -> u64 {
        self.running.unreadable_records
    }

    /// Starts from the stored fold (the first time), folds what was appended since, and
    /// stores the fold when it is [`STORE_EVERY`] records ahead of the stored one (or holds
    /// [`STORE_TASKS`] tasks' figures); how many records were folded.
    pub fn catch_up(&mut self, store: &Store) -> Result<usize, StoreError> {
        let mut n = 0;
        loop {
            // Again after a reset (another process stored first): go on from its fold.
            self.load(store)?;
            let page = store.event_page(self.running.through, UNBOUNDED, PAGE)?;
            if page.is_empty() {
                self.store_if_due(store, false);
                if self.loaded {
                    return Ok(n);
                }
                continue;
            }
            n += page.len();
            for (seq, body) in &page {
                if let Some(mark) = self.running.push_body(*seq, body) {
                    self.marks.push(mark);
                }
            }
            if self.running.task_entries() >= STORE_TASKS {
                self.store_if_due(store, true);
            }
        }
    }

    /// Reads the stored fold, the first time.
    fn load(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.loaded {
            return Ok(());
        }
        self.loaded = true;
        if self.scratch {
            return Ok(());
        }
        if let Some((through, json)) = store.metrics_running(RUNNING_VERSION)? {
            match serde_json::from_str::<Running>(&json) {
                Ok(r) if r.through == through => {
                    self.running = r;
                    self.stored_through = through;
                }
                _ => tracing::warn!("the stored metrics fold cannot be read; folding the trail"),
            }
        }
        Ok(())
    }

    /// Forgets the fold: the next catch-up reads the stored one again (or, `scratch`, folds
    /// the trail from the beginning).
    fn reset(&mut self, scratch: bool) {
        *self = MetricsReader {
            scratch,
            ..MetricsReader::default()
        };
    }

    /// Stores the fold when it is due (`now`: whenever it got further), where the store can
    /// be written. Where another process stored first, the fold is read again.
    fn store_if_due(&mut self, store: &Store, now: bool) {
        let through = self.running.through;
        let due = (now && through > self.stored_through)
            || through >= self.stored_through + STORE_EVERY
            || (self.stored_through == 0 && through > 0);
        if !due || store.write_blocker().is_some() {
            return;
        }
        let rows = self.running.task_rows_since_stored();
        let mut fold = self.running.clone();
        fold.clear_task_rows();
        let (state, marks) = match serialized(&fold, &self.marks) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "the metrics fold cannot be serialized");
                return;
            }
        };
        let tasks: Vec<&str> = rows.keys().map(String::as_str).collect();
        let write = FoldWrite {
            version: RUNNING_VERSION,
            base: self.stored_through,
            through,
            state: &state,
            marks: &marks,
            tasks: &tasks,
            replace: self.scratch,
        };
        let mut merge = |task: &str, old: Option<String>| {
            let mut row = match old {
                Some(text) => serde_json::from_str::<TaskRow>(&text)
                    .map_err(|e| format!("the metrics row of task {task:?} cannot be read: {e}"))?,
                None => TaskRow::default(),
            };
            if let Some(later) = rows.get(task) {
                row.merge(later);
            }
            serde_json::to_string(&row).map_err(|e| e.to_string())
        };
        match store.save_metrics_running(&write, &mut merge) {
            Ok(Saved::Stored) => {
                self.running = fold;
                self.stored_through = through;
                self.marks.clear();
                self.scratch = false;
            }
            Ok(Saved::Stale) => self.reset(false),
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::warn!(error = %e, "folding the metrics from the beginning of the trail");
                self.reset(true);
            }
            Err(e) => tracing::debug!(error = %e, "the metrics fold was not stored"),
        }
    }

    /// Every task's row over the whole log as far as the fold reaches (those of `tasks`
    /// only, when given, sorted): the stored rows with the fold's own merged on. `None` when
    /// the stored fold changed under the reader.
    fn task_rows(
        &mut self,
        store: &Store,
        tasks: Option<&[String]>,
    ) -> Result<Option<BTreeMap<String, TaskRow>>, StoreError> {
        let mut rows = BTreeMap::new();
        let mut unreadable = None;
        let mut each = |task: String, text: &str| match serde_json::from_str::<TaskRow>(text) {
            Ok(r) => {
                rows.insert(task, r);
            }
            Err(e) => unreadable = Some(format!("task {task:?}: {e}")),
        };
        let current =
            store.metrics_task_rows(RUNNING_VERSION, self.stored_through, tasks, &mut each)?;
        if let Some(why) = unreadable {
            tracing::warn!(why, "a metrics row cannot be read; folding the trail again");
            self.reset(true);
            return Ok(None);
        }
        if !current {
            return Ok(None);
        }
        for (task, later) in self.running.task_rows_since_stored() {
            if tasks.is_none_or(|t| t.binary_search(&task).is_ok()) {
                rows.entry(task).or_default().merge(&later);
            }
        }
        Ok(Some(rows))
    }

    /// The note of the last `task_status_changed` that failed `task` as far as the fold
    /// reaches (`None`: none did, or it cannot be read now).
    pub fn failed_note(&self, store: &Store, task: &str) -> Option<Option<String>> {
        if let Some(note) = self.running.failed_note_since_stored(task) {
            return Some(note);
        }
        let wanted = [task.to_string()];
        let mut row = None;
        let mut each = |_: String, text: &str| row = serde_json::from_str::<TaskRow>(text).ok();
        let current = store
            .metrics_task_rows(
                RUNNING_VERSION,
                self.stored_through,
                Some(&wanted),
                &mut each,
            )
            .map_err(|e| tracing::warn!(error = %e, "a metrics row cannot be read"))
            .ok()?;
        let row = row.filter(|_| current)?;
        row.failed.map(|f| f.note)
    }

    /// The newest mark (kept or stored) whose events are all stamped before `start`.
    fn mark_before(&self, store: &Store, start: i64) -> Result<Option<Mark>, StoreError> {
        let kept = self
            .marks
            .iter()
            .rev()
            .find(|m| m.max_at.is_none_or(|t| t < start));
        let stored = store
            .metrics_mark_before(RUNNING_VERSION, self.running.through, start)?
            .and_then(|(_, json)| serde_json::from_str::<Mark>(&json).ok());
        Ok(match (kept, stored) {
            (Some(k), Some(s)) if s.seq > k.seq => Some(s),
            (Some(k), _) => Some(k.clone()),
            (None, s) => s,
        })
    }

    /// The events a window starting at `start` reads: those after the newest mark before it
    /// (every event stamped at or after `start` is among them), up to the fold's last record.
    pub fn each_event_from(
        &self,
        store: &Store,
        start: i64,
        each: impl FnMut(&Event),
    ) -> Result<Option<Mark>, StoreError> {
        let mark = self.mark_before(store, start)?;
        let after = mark.as_ref().map_or(0, |m| m.seq);
        each_event(store, after, self.running.through, each)?;
        Ok(mark)
    }

    /// The figures over `window` as of `now`, from what was caught up (`None` when `now`
    /// cannot be read). The same figures as `metrics::compute` over the caught-up events.
    pub fn metrics(
        &mut self,
        store: &Store,
        window: Window,
        now: &str,
    ) -> Result<Option<Metrics>, StoreError> {
        Ok(self.figures(store, window, now, false)?.map(|f| f.0))
    }

    /// The figures and the points per checkpoint over `window` as of `now` (`None` when
    /// `now` cannot be read): `metrics::compute` and `metrics::per_checkpoint`.
    pub fn metrics_and_points(
        &mut self,
        store: &Store,
        window: Window,
        now: &str,
    ) -> Result<Option<(Metrics, Vec<CheckpointPoint>)>, StoreError> {
        self.figures(store, window, now, true)
    }

    fn figures(
        &mut self,
        store: &Store,
        window: Window,
        now: &str,
        points: bool,
    ) -> Result<Option<(Metrics, Vec<CheckpointPoint>)>, StoreError> {
        let Some(now_ms) = parse_ms(now) else {
            return Ok(None);
        };
        for _ in 0..3 {
            match self.try_figures(store, window, now, now_ms, points)? {
                Answer::Figures(f) => return Ok(*f),
                // Another process stored its fold meanwhile: go on from that one.
                Answer::Stale => {
                    self.reset(self.scratch);
                    self.catch_up(store)?;
                }
            }
        }
        // The stored fold keeps changing: the full fold, streamed, needs none of it.
        self.replay(store, window, now, now_ms).map(Some)
    }

    fn try_figures(
        &mut self,
        store: &Store,
        window: Window,
        now: &str,
        now_ms: i64,
        points: bool,
    ) -> Result<Answer, StoreError> {
        let m = match self.running.plan(window, now_ms) {
            Plan::Whole => {
                let Some(rows) = self.task_rows(store, None)? else {
                    return Ok(Answer::Stale);
                };
                self.running.whole(rows, window, now, now_ms)
            }
            Plan::From { start } => {
                let mark = self.mark_before(store, start)?;
                let r = &self.running;
                let mut f = r.window_fold(mark.as_ref(), window, now, now_ms, start);
                let after = mark.as_ref().map_or(0, |m| m.seq);
                each_event(store, after, r.through, |e| f.event(e))?;
                let tasks = f.finished_tasks();
                let Some(rows) = self.task_rows(store, Some(&tasks))? else {
                    return Ok(Answer::Stale);
                };
                let attempts = rows
                    .into_iter()
                    .filter_map(|(t, r)| r.attempts.map(|n| (t, n)))
                    .collect();
                f.finish(&self.running, &attempts)
            }
            Plan::Replay => {
                let answer = self.replay(store, window, now, now_ms)?;
                return Ok(Answer::Figures(Box::new(Some(answer))));
            }
        };
        let series = if points {
            self.running.points(window, now_ms).unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Answer::Figures(Box::new(Some((m, series)))))
    }

    /// The full fold, streamed, for a `now` before some event's stamp.
    fn replay(
        &self,
        store: &Store,
        window: Window,
        now: &str,
        now_ms: i64,
    ) -> Result<(Metrics, Vec<CheckpointPoint>), StoreError> {
        let through = self.running.through;
        let mut checkpoint = None;
        if Replay::needs_first_pass(window) {
            each_event(store, 0, through, |e| {
                Replay::first_pass(&mut checkpoint, e, now_ms)
            })?;
        }
        let mut replay = Replay::new(window, now, now_ms, checkpoint);
        each_event(store, 0, through, |e| replay.event(e))?;
        Ok(replay.finish())
    }
}

/// The fold (without its task rows) and the marks to store, as JSON.
fn serialized(fold: &Running, marks: &[Mark]) -> Result<(String, Vec<MarkRow>), serde_json::Error> {
    let state = serde_json::to_string(fold)?;
    let marks = marks
        .iter()
        .map(|m| {
            Ok(MarkRow {
                seq: m.seq,
                max_at: m.max_at,
                carried: serde_json::to_string(m)?,
            })
        })
        .collect::<Result<_, serde_json::Error>>()?;
    Ok((state, marks))
}

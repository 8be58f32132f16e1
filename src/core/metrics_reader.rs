//! The metrics read from the store incrementally (issue 23): the CLI, `/metrics`, the owner's
//! monitor, the console's metrics pane and the digest all go through a [`MetricsReader`].
//!
//! It keeps `metrics::Running` (the whole log folded so far, small) instead of the events:
//! it starts from the copy stored in the audit database (`store::metric_folds`), folds the
//! records stored since, page by page, and stores its fold again when it got
//! [`STORE_EVERY`] records further (with the marks it took), where the store can be written.
//! A window shorter than `all` reads only the events since the newest mark before the window
//! (`metrics::running`). Nothing holds the trail: memory is the fold, one page of events and
//! the window's events.

use crate::metrics::running::{Plan, Replay, RUNNING_VERSION};
use crate::metrics::{parse_ms, CheckpointPoint, Mark, Metrics, Running, Window};
use crate::protocol::Event;
use crate::store::metric_folds::MarkRow;
use crate::store::{Store, StoreError};

/// Events read at a time.
const PAGE: usize = 2048;
/// Records the fold gets ahead of its stored copy before it is stored again.
pub const STORE_EVERY: u64 = 1024;
/// No upper bound on the record read.
const UNBOUNDED: u64 = i64::MAX as u64;

/// The metrics' view of one store, caught up on demand.
#[derive(Debug, Default)]
pub struct MetricsReader {
    running: Running,
    loaded: bool,
    /// Marks taken since the fold was last stored (all of them where it cannot be).
    marks: Vec<Mark>,
    stored_through: u64,
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
            if let Ok(e) = serde_json::from_str::<Event>(body) {
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
    /// stores the fold when it is [`STORE_EVERY`] records ahead of the stored one; how many
    /// records were folded.
    pub fn catch_up(&mut self, store: &Store) -> Result<usize, StoreError> {
        if !self.loaded {
            self.loaded = true;
            if let Some((through, json)) = store.metrics_running(RUNNING_VERSION)? {
                match serde_json::from_str::<Running>(&json) {
                    Ok(r) if r.through == through => {
                        self.running = r;
                        self.stored_through = through;
                    }
                    _ => {
                        tracing::warn!("the stored metrics fold cannot be read; folding the trail")
                    }
                }
            }
        }
        let mut n = 0;
        loop {
            let page = store.event_page(self.running.through, UNBOUNDED, PAGE)?;
            if page.is_empty() {
                break;
            }
            n += page.len();
            for (seq, body) in &page {
                if let Some(mark) = self.running.push_body(*seq, body) {
                    self.marks.push(mark);
                }
            }
        }
        self.store_if_due(store);
        Ok(n)
    }

    fn store_if_due(&mut self, store: &Store) {
        let through = self.running.through;
        let due = through >= self.stored_through + STORE_EVERY
            || (self.stored_through == 0 && through > 0);
        if !due || store.write_blocker().is_some() {
            return;
        }
        let (state, marks) = match self.serialized() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "the metrics fold cannot be serialized");
                return;
            }
        };
        match store.save_metrics_running(RUNNING_VERSION, through, &state, &marks) {
            Ok(()) => {
                self.stored_through = through;
                self.marks.clear();
            }
            Err(e) => tracing::debug!(error = %e, "the metrics fold was not stored"),
        }
    }

    fn serialized(&self) -> Result<(String, Vec<MarkRow>), serde_json::Error> {
        let state = serde_json::to_string(&self.running)?;
        let marks = self
            .marks
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
        &self,
        store: &Store,
        window: Window,
        now: &str,
    ) -> Result<Option<Metrics>, StoreError> {
        Ok(self.figures(store, window, now, false)?.map(|f| f.0))
    }

    /// The figures and the points per checkpoint over `window` as of `now` (`None` when
    /// `now` cannot be read): `metrics::compute` and `metrics::per_checkpoint`.
    pub fn metrics_and_points(
        &self,
        store: &Store,
        window: Window,
        now: &str,
    ) -> Result<Option<(Metrics, Vec<CheckpointPoint>)>, StoreError> {
        self.figures(store, window, now, true)
    }

    fn figures(
        &self,
        store: &Store,
        window: Window,
        now: &str,
        points: bool,
    ) -> Result<Option<(Metrics, Vec<CheckpointPoint>)>, StoreError> {
        let Some(now_ms) = parse_ms(now) else {
            return Ok(None);
        };
        let r = &self.running;
        let m = match r.plan(window, now_ms) {
            Plan::Whole => r.whole(window, now, now_ms),
            Plan::From { start } => {
                let mark = self.mark_before(store, start)?;
                let mut f = r.window_fold(mark.as_ref(), window, now, now_ms, start);
                let after = mark.as_ref().map_or(0, |m| m.seq);
                each_event(store, after, r.through, |e| f.event(e))?;
                f.finish(r)
            }
            Plan::Replay => return self.replay(store, window, now, now_ms).map(Some),
        };
        let series = if points {
            r.points(window, now_ms).unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Some((m, series)))
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

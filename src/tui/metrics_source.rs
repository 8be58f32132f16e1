//! The metrics pane's figures, computed off the UI loop. A worker thread owns a view of the store
//! and the metrics' running fold (`core::metrics_reader`, not the events): each request folds
//! only the records stored since (SQLite's WAL lets a reader in beside the core's writer), then
//! gives the same figures as the pure `metrics::compute` and `metrics::per_checkpoint`. Requests are debounced and, when they come
//! because events arrived, answered at most every [`MIN_INTERVAL`]; each answer carries the
//! request's generation so the app drops a stale one (as for diffs).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::core::metrics_reader::MetricsReader;
use crate::metrics::{self, CheckpointPoint, Metrics, Window};
use crate::protocol::model::Timestamp;
use crate::store::{Store, StorePaths};

/// Requests arriving within this of the first are answered together (with the newest).
pub const DEBOUNCE: Duration = Duration::from_millis(300);
/// A request made because events arrived waits until this long after the last computation.
pub const MIN_INTERVAL: Duration = Duration::from_secs(3);

/// What the pane draws: the figures over a window, as of a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub window: Window,
    /// The `now` they were computed for.
    pub now: Timestamp,
    pub metrics: Metrics,
    /// One point per checkpoint in the window, oldest first.
    pub series: Vec<CheckpointPoint>,
    /// Stored records that could not be read as events.
    pub corrupt_records: u64,
}

pub use crate::core::monitor::EventCache;

/// The figures over `window` as of `now` from events held in memory (`None` when `now`
/// cannot be read): the pure definition, which the worker's incremental figures equal.
pub fn figures(cache: &EventCache, window: Window, now: &str) -> Option<Figures> {
    Some(Figures {
        window,
        now: now.to_string(),
        metrics: metrics::compute(&cache.events, window, now)?,
        series: metrics::per_checkpoint(&cache.events, window, now)?,
        corrupt_records: cache.unreadable,
    })
}

/// Asks for the figures over `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub window: Window,
    pub generation: u64,
    /// Asked because events arrived (not because the human opened the pane or changed the
    /// window): waits for [`MIN_INTERVAL`] since the last computation.
    pub after_events: bool,
}

/// What comes back: the request's generation and the figures or why there are none.
pub type Loaded = (u64, Result<Figures, String>);

/// The handle of the worker thread (it ends when the handle is dropped).
pub struct MetricsWorker {
    tx: mpsc::Sender<Request>,
}

impl MetricsWorker {
    /// Starts the worker on the store at `paths`; answers go to `out` (which wakes the UI loop:
    /// nothing polls).
    pub fn spawn(
        paths: StorePaths,
        out: tokio::sync::mpsc::UnboundedSender<Loaded>,
    ) -> std::io::Result<MetricsWorker> {
        MetricsWorker::spawn_with_clock(paths, out, crate::core::now)
    }

    /// [`MetricsWorker::spawn`] with another clock (an audit timestamp per call), for tests.
    pub fn spawn_with_clock(
        paths: StorePaths,
        out: tokio::sync::mpsc::UnboundedSender<Loaded>,
        clock: fn() -> Timestamp,
    ) -> std::io::Result<MetricsWorker> {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("overlord-metrics".into())
            .spawn(move || work(paths, rx, out, clock))?;
        Ok(MetricsWorker { tx })
    }

    pub fn request(&self, r: Request) {
        let _ = self.tx.send(r);
    }
}

fn work(
    paths: StorePaths,
    rx: mpsc::Receiver<Request>,
    out: tokio::sync::mpsc::UnboundedSender<Loaded>,
    clock: fn() -> Timestamp,
) {
    let mut store: Option<Store> = None;
    let mut reader = MetricsReader::default();
    let mut last: Option<Instant> = None;
    while let Ok(mut req) = rx.recv() {
        let due = |r: &Request, now: Instant| {
            let debounced = now + DEBOUNCE;
            match (r.after_events, last) {
                (true, Some(l)) => debounced.max(l + MIN_INTERVAL),
                _ => debounced,
            }
        };
        let mut deadline = due(&req, Instant::now());
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(r) => {
                    // The newest request wins; one from the human is not held back.
                    let after_events = req.after_events && r.after_events;
                    req = Request { after_events, ..r };
                    if !after_events {
                        deadline = deadline.min(due(&req, Instant::now()));
                    }
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let answer = compute(&paths, &mut store, &mut reader, req.window, clock);
        last = Some(Instant::now());
        if out.send((req.generation, answer)).is_err() {
            return;
        }
    }
}

fn compute(
    paths: &StorePaths,
    store: &mut Option<Store>,
    reader: &mut MetricsReader,
    window: Window,
    clock: fn() -> Timestamp,
) -> Result<Figures, String> {
    if store.is_none() {
        *store = Some(Store::open_without_repair(paths).map_err(|e| e.to_string())?);
    }
    let Some(s) = store.as_ref() else {
        return Err("the store is not open".into());
    };
    let again = |store: &mut Option<Store>, e: crate::store::StoreError| {
        // Open it again next time (the file may have moved or been repaired).
        *store = None;
        e.to_string()
    };
    if let Err(e) = reader.catch_up(s) {
        return Err(again(store, e));
    }
    // The time is taken once the store is read: no event read is stamped after it.
    let now = clock();
    match reader.metrics_and_points(s, window, &now) {
        Ok(Some((metrics, series))) => Ok(Figures {
            window,
            now,
            metrics,
            series,
            corrupt_records: reader.unreadable(),
        }),
        Ok(None) => Err(format!("the clock gives an unreadable time: {now}")),
        Err(e) => Err(again(store, e)),
    }
}

//! The orchestrator core: owns the state and the audit store. Every command goes through
//! `Core::execute`: take the write lock, catch up with what other processes appended,
//! decide (the lifecycle rules in `decide`), append command + events + response as one
//! transaction, then fold the events into the state and publish them. The core knows nothing
//! of any front end.

pub mod decide;
pub mod diff;
pub mod digest;
pub mod failpoint;
pub mod handle;
pub mod ipc;
pub mod metrics_serve;
pub mod monitor;
pub mod ops;
pub mod plan;
pub mod qa;
pub mod shell;
pub mod verify_git;
pub mod worktree;

use std::path::PathBuf;

use tokio::sync::broadcast;

use crate::config::Config;
use crate::protocol::{
    print, Command, CommandRecord, Event, EventKind, Origin, RejectCode, Rejection, Reply, State,
    Topic,
};
use crate::store::verify::STATE_VERSION;
use crate::store::{NewRecord, Store, StoreError, StoredRecord, WriteGuard};
use crate::workspace::Workspace;

pub use handle::Handle;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit record {seq} cannot be read as an event ({message}); run `overlord-tui audit verify`")]
    BadEvent { seq: u64, message: String },
}

/// The current time as the audit trail writes it: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    stamp(time::OffsetDateTime::now_utc())
}

/// A time as the audit trail writes it: RFC 3339, UTC, milliseconds.
pub fn stamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Reads a timestamp of the audit trail back (`None` for anything that is not RFC 3339).
pub fn parse_stamp(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

pub struct Core {
    store: Store,
    state: State,
    /// The last audit record folded into `state`.
    applied_through: u64,
    last_snapshot: u64,
    snapshot_every: u64,
    pub(crate) ws: Workspace,
    pub(crate) config: Config,
    events: broadcast::Sender<Event>,
}

fn parse_event(seq: u64, body: &str) -> Result<Event, CoreError> {
    serde_json::from_str(body).map_err(|e| CoreError::BadEvent {
        seq,
        message: e.to_string(),
    })
}

impl Core {
    /// Opens the store and restores the state: the newest snapshot plus the events after it.
    pub fn open(ws: &Workspace, config: &Config) -> Result<Core, CoreError> {
        let store = Store::open(&ws.store_paths())?;
        let (head, _) = store.head();
        let mut state = State::default();
        let mut applied = 0;
        if let Some((seq, version, json)) = store.latest_snapshot()? {
            if version == STATE_VERSION && seq <= head {
                match serde_json::from_str::<State>(&json) {
                    Ok(s) => {
                        state = s;
                        applied = seq;
                    }
                    Err(e) => tracing::warn!(seq, error = %e, "unreadable snapshot; replaying"),
                }
            } else {
                tracing::warn!(
                    seq,
                    version,
                    head,
                    "snapshot does not fit the store; replaying"
                );
            }
        }
        let last_snapshot = applied;
        for (seq, body) in store.event_bodies_after(applied)? {
            state.apply(&parse_event(seq, &body)?);
        }
        let (events, _) = broadcast::channel(4096);
        let mut core = Core {
            store,
            state,
            applied_through: head,
            last_snapshot,
            snapshot_every: config.core.snapshot_every.max(1),
            ws: ws.clone(),
            config: config.clone(),
            events,
        };
        core.maybe_snapshot();
        Ok(core)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn event_sender(&self) -> broadcast::Sender<Event> {
        self.events.clone()
    }

    /// Folds in records other processes appended since we last looked. Returns how many.
    pub fn refresh(&mut self) -> Result<usize, CoreError> {
        let records = self.store.records_after(self.applied_through)?;
        for e in fold(&mut self.state, &mut self.applied_through, &records)? {
            let _ = self.events.send(e);
        }
        Ok(records.len())
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Carries out one command and answers it. Never panics; a storage failure becomes a
    /// rejected reply and nothing is written. A Save or rollback runs to its end here; the
    /// reply then tells how it ended.
    pub fn execute(&mut self, origin: Origin, command: Command) -> Reply {
        let (reply, job) = self.execute_detached(origin, command);
        match job {
            None => reply,
            Some(mut job) => {
                let recovered = job.recovered.take();
                let report = ops::run(self, job);
                finished_reply(reply, report, recovered)
            }
        }
    }

    /// Like `execute`, but an accepted Save or rollback is handed back as a `Job` for the
    /// caller to run (on another thread, with its own `Core`); the reply says it started.
    pub fn execute_detached(
        &mut self,
        origin: Origin,
        command: Command,
    ) -> (Reply, Option<ops::Job>) {
        match self.try_execute(origin, command) {
            Ok(r) => r,
            Err(e) => (
                Reply::rejected(Rejection::new(
                    RejectCode::Storage,
                    format!("{e}; nothing was changed"),
                )),
                None,
            ),
        }
    }

    /// Finishes or cleans up a Save or rollback a killed process left behind, unless one is
    /// running. Returns what it did.
    pub fn recover_operation(&mut self) -> Result<Option<String>, CoreError> {
        self.refresh()?;
        if self.state.operation.is_none() {
            return Ok(None);
        }
        match ops::OperationLock::try_acquire(&self.ws) {
            Ok(Some(_lock)) => ops::recover(self),
            _ => Ok(None),
        }
    }

    /// For `/save` and `/rollback`: takes the operation lock, recovers an interrupted
    /// operation, and checks the repository.
    fn prepare_operation(
        &mut self,
        command: &Command,
        now: &str,
    ) -> Result<(ops::Prepared, ops::OperationLock, Option<String>), Rejection> {
        let lock = match ops::OperationLock::acquire(&self.ws, ops::LOCK_GRACE) {
            Ok(Some(l)) => l,
            Ok(None) => {
                return Err(Rejection::new(
                    RejectCode::Conflict,
                    "a Save or rollback is running in another overlord-tui process; wait for it to finish (nothing was changed)",
                ))
            }
            Err(e) => {
                return Err(Rejection::new(
                    RejectCode::Storage,
                    format!("cannot take .overlord/operation.lock: {e}; nothing was changed"),
                ))
            }
        };
        self.refresh().map_err(|e| {
            Rejection::new(RejectCode::Storage, format!("{e}; nothing was changed"))
        })?;
        let recovered = if self.state.operation.is_some() {
            ops::recover(self).map_err(|e| {
                Rejection::new(
                    RejectCode::Storage,
                    format!("an interrupted operation could not be recovered: {e}"),
                )
            })?
        } else {
            None
        };
        match ops::prepare(self, command, now) {
            Ok(p) => Ok((p, lock, recovered)),
            Err(mut r) => {
                if let Some(done) = recovered {
                    r.message = format!("{done}\n{}", r.message);
                }
                Err(r)
            }
        }
    }

    fn try_execute(
        &mut self,
        origin: Origin,
        command: Command,
    ) -> Result<(Reply, Option<ops::Job>), CoreError> {
        let now = now();
        // Reading the plan file happens before the lock is taken.
        let plan = match &command {
            Command::ImportPlan { path } => Some(self.load_plan(path, &now)),
            _ => None,
        };
        let (operation, op_lock, recovered) = match &command {
            Command::Save | Command::Rollback { .. } if origin.is_human() => {
                match self.prepare_operation(&command, &now) {
                    Ok((p, l, r)) => (Some(Ok(p)), Some(l), r),
                    Err(r) => (Some(Err(r)), None, None),
                }
            }
            _ => (None, None, None),
        };
        let ctx = decide::Context {
            now: now.clone(),
            discord: self.config.discord.clone(),
            plan,
            operation,
        };

        let mut guard = self.store.begin_write()?;
        let caught_up = catch_up(&mut guard, &mut self.state, &mut self.applied_through)?;

        let decision = decide::decide(&self.state, &origin, &command, &ctx);
        let (head, _) = guard.head();
        let command_seq = head + 1;
        let record = CommandRecord {
            at: now.clone(),
            origin: origin.clone(),
            line: print(&command),
            command,
        };
        let mut records = vec![NewRecord {
            topic: Topic::Command,
            at: now.clone(),
            body: to_json(&record),
        }];
        let (events, mut reply) = match decision {
            Ok(outcome) => {
                let mut events = Vec::with_capacity(outcome.events.len());
                let actor = origin.actor();
                for (i, kind) in outcome.events.into_iter().enumerate() {
                    events.push(Event {
                        seq: self.state.last_event_seq + 1 + i as u64,
                        at: now.clone(),
                        command_seq: Some(command_seq),
                        actor: actor.clone(),
                        kind,
                    });
                }
                let reply = Reply {
                    command_seq,
                    ok: true,
                    message: outcome.message,
                    error: None,
                    events: events.iter().map(|e| e.seq).collect(),
                    data: outcome.data,
                };
                (events, reply)
            }
            Err(rejection) => {
                let mut reply = Reply::rejected(rejection);
                reply.command_seq = command_seq;
                (Vec::new(), reply)
            }
        };
        for e in &events {
            records.push(NewRecord {
                topic: e.kind.topic(),
                at: now.clone(),
                body: to_json(e),
            });
        }
        records.push(NewRecord {
            topic: Topic::Response,
            at: now,
            body: to_json(&reply),
        });
        let appended = guard.append(&records)?;
        guard.commit(&appended)?;

        for e in caught_up {
            let _ = self.events.send(e);
        }
        for e in events {
            self.state.apply(&e);
            let _ = self.events.send(e);
        }
        self.applied_through = appended
            .last()
            .map(|r| r.seq)
            .unwrap_or(self.applied_through);
        self.maybe_snapshot();
        if let Some(r) = &recovered {
            reply.message = format!("{r}\n{}", reply.message);
        }
        let job = match (reply.ok, op_lock, &self.state.operation) {
            (true, Some(lock), Some(op)) => Some(ops::Job {
                id: op.id,
                recovered,
                _lock: lock,
            }),
            _ => None,
        };
        Ok((reply, job))
    }

    fn load_plan(&self, path: &str, now: &str) -> Result<crate::protocol::model::Plan, Rejection> {
        let full = {
            let p = PathBuf::from(path);
            if p.is_absolute() {
                p
            } else {
                self.ws.root.join(p)
            }
        };
        let text = std::fs::read_to_string(&full).map_err(|e| {
            Rejection::new(
                RejectCode::InvalidInput,
                format!("cannot read plan {}: {e}", full.display()),
            )
        })?;
        let shown = self.ws.relative(&full);
        plan::parse_todo_list(&text, &shown, now)
    }

    /// Writes a snapshot of the state when enough records have accumulated since the last.
    fn maybe_snapshot(&mut self) {
        if self.applied_through < self.last_snapshot + self.snapshot_every {
            return;
        }
        let json = to_json(&self.state);
        match self
            .store
            .save_snapshot(self.applied_through, STATE_VERSION, &json)
        {
            Ok(()) => self.last_snapshot = self.applied_through,
            Err(e) => tracing::warn!(error = %e, "could not write a state snapshot"),
        }
    }

    /// Writes a snapshot now (used before shutting down a long-running core).
    pub fn snapshot_now(&mut self) -> Result<(), CoreError> {
        if self.applied_through > self.last_snapshot {
            let json = to_json(&self.state);
            self.store
                .save_snapshot(self.applied_through, STATE_VERSION, &json)?;
            self.last_snapshot = self.applied_through;
        }
        Ok(())
    }

    /// Appends events produced by the core's own machinery (not by a command).
    pub fn emit(&mut self, actor: &str, kinds: Vec<EventKind>) -> Result<Vec<Event>, CoreError> {
        self.emit_with(actor, |_| kinds)
    }

    /// Like `emit`, but the events are decided under the store's write lock from the state
    /// as it is then (with what other processes appended): a check-then-act that no other
    /// writer can slip between (two processes starting the git session at once).
    pub fn emit_with(
        &mut self,
        actor: &str,
        decide: impl FnOnce(&State) -> Vec<EventKind>,
    ) -> Result<Vec<Event>, CoreError> {
        let now = now();
        let mut guard = self.store.begin_write()?;
        let caught = catch_up(&mut guard, &mut self.state, &mut self.applied_through)?;
        let kinds = decide(&self.state);
        if kinds.is_empty() {
            drop(guard);
            for e in caught {
                let _ = self.events.send(e);
            }
            return Ok(Vec::new());
        }
        let events: Vec<Event> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: self.state.last_event_seq + 1 + i as u64,
                at: now.clone(),
                command_seq: None,
                actor: actor.to_string(),
                kind,
            })
            .collect();
        let new: Vec<NewRecord> = events
            .iter()
            .map(|e| NewRecord {
                topic: e.kind.topic(),
                at: now.clone(),
                body: to_json(e),
            })
            .collect();
        let appended = guard.append(&new)?;
        guard.commit(&appended)?;
        for e in caught {
            let _ = self.events.send(e);
        }
        for e in &events {
            self.state.apply(e);
            let _ = self.events.send(e.clone());
        }
        self.applied_through = appended
            .last()
            .map(|r| r.seq)
            .unwrap_or(self.applied_through);
        self.maybe_snapshot();
        Ok(events)
    }
}

/// The reply to a Save or rollback that ran to its end.
fn finished_reply(
    accepted: Reply,
    report: crate::protocol::report::OperationReport,
    recovered: Option<String>,
) -> Reply {
    let ok = report.outcome.is_some_and(|o| o.is_success());
    let message = match recovered {
        Some(done) => format!("{done}\n{}", report.message),
        None => report.message.clone(),
    };
    Reply {
        command_seq: accepted.command_seq,
        ok,
        message,
        error: if ok {
            None
        } else {
            Some(Rejection::new(RejectCode::Failed, report.message.clone()))
        },
        events: accepted.events,
        data: crate::protocol::report::ReplyData::Operation(Box::new(report)),
    }
}

/// Folds stored records into the state; returns the events, to be published once committed.
fn fold(
    state: &mut State,
    applied: &mut u64,
    records: &[StoredRecord],
) -> Result<Vec<Event>, CoreError> {
    let mut events = Vec::new();
    for r in records {
        if r.topic != Topic::Command && r.topic != Topic::Response {
            let event = parse_event(r.seq, &r.body)?;
            state.apply(&event);
            events.push(event);
        }
        *applied = r.seq;
    }
    Ok(events)
}

/// Under the write lock: folds in what other processes appended since we last looked and
/// repairs their mirror lines if one of them died before writing them.
fn catch_up(
    guard: &mut WriteGuard<'_>,
    state: &mut State,
    applied: &mut u64,
) -> Result<Vec<Event>, CoreError> {
    if guard.head().0 <= *applied {
        return Ok(Vec::new());
    }
    let records = guard.store().records_after(*applied)?;
    guard.repair_mirrors_for(&records)?;
    fold(state, applied, &records)
}

/// Canonical JSON: struct fields in declaration order, maps sorted (`BTreeMap`).
fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing our own plain-data types cannot fail (no non-string map keys, no I/O).
    serde_json::to_string(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialization failed");
        "null".to_string()
    })
}

//! The `Core` itself: owns the state and the audit store. Opens and restores them (the newest
//! snapshot plus the events after it), folds in what other processes appended, writes
//! snapshots, and appends events the core's own machinery produces (`emit`). Carrying out a
//! command is `execute` (in `execute.rs`).

use tokio::sync::broadcast;

use super::clock::now;
use crate::config::Config;
use crate::protocol::{Event, EventKind, State, Topic};
use crate::store::verify::STATE_VERSION;
use crate::store::{NewRecord, Store, StoreError, StoredRecord, WriteGuard};
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit record {seq} cannot be read as an event ({message}); run `overlord-tui audit verify`")]
    BadEvent { seq: u64, message: String },
    /// A request the caller got wrong (an unknown kind of history).
    #[error("{0}")]
    Usage(String),
}

/// When git last changed the checkpoint tags: the loose ones' directory and `packed-refs`.
pub type TagsStamp = (Option<std::time::SystemTime>, Option<std::time::SystemTime>);

/// When git last changed main's ref file, the notes ref file and `packed-refs`.
pub type RefsStamp = [Option<std::time::SystemTime>; 3];

pub struct Core {
    pub(super) store: Store,
    pub(super) state: State,
    /// The last audit record folded into `state`.
    pub(super) applied_through: u64,
    last_snapshot: u64,
    snapshot_every: u64,
    /// Opened without a part of the snapshot (`open_lean`, `open_recent`).
    lean: bool,
    pub(crate) ws: Workspace,
    pub(crate) config: Config,
    pub(super) events: broadcast::Sender<Event>,
    /// When the checkpoint tags last checked were last changed (`ops::tags`): the scan runs
    /// again only once git has changed them.
    pub(crate) tags_seen: Option<TagsStamp>,
    /// When main's and the notes ref's files last checked were last changed (`ops::outside`).
    pub(crate) refs_seen: Option<RefsStamp>,
    /// The watch the last accepted Save's first look set on the user's work tree, for its
    /// second look (`git::watch`); taken when it is asked.
    pub(crate) tree_watch: Option<std::sync::Arc<crate::git::watch::TreeWatch>>,
}

fn parse_event(seq: u64, body: &str) -> Result<Event, CoreError> {
    Event::from_json(body).map_err(|e| CoreError::BadEvent {
        seq,
        message: e.to_string(),
    })
}

/// Whether carrying out `command` reads the concerns of the state. Raising one reads only
/// the counters, the task it names and the kill switch (`decide::concerns::raise`), so it may
/// run on a core opened without them (`Core::open_lean`); every other command is assumed to.
pub fn reads_concerns(command: &crate::protocol::Command) -> bool {
    !matches!(command, crate::protocol::Command::RaiseConcern(_))
}

/// Which parts of the newest snapshot a core reads at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Every part: the whole state.
    Whole,
    /// All but the concerns (`Core::open_lean`).
    WithoutConcerns,
    /// All but the older checkpoints (`Core::open_recent`).
    Recent,
}

/// The state as of record `through`: the newest snapshot at or before it (the parts `reading`
/// names) and the events after it; and the record the snapshot was taken at.
fn restore(store: &Store, through: u64, reading: Reading) -> Result<(State, u64), CoreError> {
    let mut state = State::default();
    let mut applied = 0;
    let snapshot = match reading {
        Reading::WithoutConcerns => store.latest_snapshot_parts(false, true)?,
        Reading::Recent => store.latest_snapshot_parts(true, false)?,
        Reading::Whole => store.latest_snapshot()?,
    };
    if let Some(snap) = snapshot {
        if snap.version == STATE_VERSION && snap.seq <= through {
            match snap.decode() {
                Ok(s) => {
                    state = s;
                    applied = snap.seq;
                }
                Err(e) => {
                    tracing::warn!(seq = snap.seq, error = %e, "unreadable snapshot; replaying")
                }
            }
        } else {
            tracing::warn!(
                seq = snap.seq,
                version = snap.version,
                through,
                "snapshot does not fit the store; replaying"
            );
        }
    }
    for (seq, body) in store.event_bodies_after(applied)? {
        if seq > through {
            break;
        }
        state.apply(&parse_event(seq, &body)?);
    }
    Ok((state, applied))
}

impl Core {
    /// Opens the store and restores the state: the newest snapshot plus the events after it.
    pub fn open(ws: &Workspace, config: &Config) -> Result<Core, CoreError> {
        Core::open_with(ws, config, Reading::Whole)
    }

    /// Like `open`, without the concerns: their part of the snapshot is not read, so opening
    /// costs the same however many concerns are open. For a command that reads no concern
    /// (`concern raise` from the CLI with no owner running); its state's `concerns` holds only
    /// those the events after the snapshot raised. When a snapshot falls due the whole state
    /// is read first (`maybe_snapshot`), so no snapshot ever lacks them.
    pub fn open_lean(ws: &Workspace, config: &Config) -> Result<Core, CoreError> {
        Core::open_with(ws, config, Reading::WithoutConcerns)
    }

    /// Like `open`, with the timeline's newest checkpoints only: those of the snapshot's
    /// main part ([`crate::store::snapshot::RECENT_CHECKPOINTS`]) and those the events after
    /// it added. For showing the live state (`status --json`), never for carrying out a
    /// command; returns how many older checkpoints were left unread.
    pub fn open_recent(ws: &Workspace, config: &Config) -> Result<(Core, usize), CoreError> {
        let core = Core::open_with(ws, config, Reading::Recent)?;
        // A core that wrote a snapshot at open read the whole state first; one restored by a
        // replay holds it all too (the snapshot it started from, none, has no older part).
        let older = match core.lean {
            true => core.store.older_checkpoints_count(core.last_snapshot)?,
            false => 0,
        };
        Ok((core, older))
    }

    /// The state, taken out of the core (which is done with).
    pub fn into_state(self) -> State {
        self.state
    }

    fn open_with(ws: &Workspace, config: &Config, reading: Reading) -> Result<Core, CoreError> {
        let store = Store::open(&ws.store_paths())?;
        let (head, _) = store.head();
        let (state, applied) = restore(&store, head, reading)?;
        let lean = reading != Reading::Whole;
        let mut store = store;
        store.ensure_items()?;
        let (events, _) = broadcast::channel(4096);
        let mut core = Core {
            store,
            state,
            applied_through: head,
            last_snapshot: applied,
            snapshot_every: config.core.snapshot_every.max(1),
            lean,
            ws: ws.clone(),
            config: config.clone(),
            events,
            tags_seen: None,
            refs_seen: None,
            tree_watch: None,
        };
        core.maybe_snapshot();
        Ok(core)
    }

    /// Whether this core was opened without a part of the snapshot (`open_lean`,
    /// `open_recent`) and has not read it since.
    pub fn is_lean(&self) -> bool {
        self.lean
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

    /// Writes a snapshot of the state when enough records have accumulated since the last.
    pub(super) fn maybe_snapshot(&mut self) {
        if self.applied_through < self.last_snapshot + self.snapshot_every {
            return;
        }
        if let Err(e) = self.write_snapshot() {
            tracing::warn!(error = %e, "could not write a state snapshot");
        }
    }

    /// Writes a snapshot now (used before shutting down a long-running core).
    pub fn snapshot_now(&mut self) -> Result<(), CoreError> {
        if self.applied_through > self.last_snapshot {
            self.write_snapshot()?;
        }
        Ok(())
    }

    /// Writes the snapshot of the state as of `applied_through`; a lean core reads the whole
    /// state first (the newest snapshot and the events after it, up to where it is).
    fn write_snapshot(&mut self) -> Result<(), CoreError> {
        if self.lean {
            let newest = self.store.latest_snapshot_without_concerns()?;
            if newest.is_some_and(|s| s.seq >= self.applied_through) {
                // Another process wrote one as new: nothing to add.
                self.last_snapshot = self.applied_through;
                return Ok(());
            }
            let (state, _) = restore(&self.store, self.applied_through, Reading::Whole)?;
            self.state = state;
            self.lean = false;
        }
        self.store
            .save_snapshot(self.applied_through, STATE_VERSION, &mut self.state)?;
        self.last_snapshot = self.applied_through;
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
        guard.index_events(&self.state, &events, &appended, 0)?;
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

impl Core {
    /// `audit accept-loss`: a human accepts that the records the anchors name are gone. The
    /// acceptance is an event appended past the anchor check (the only write that is); ids and
    /// event numbers go on after the highest record number anyone saw — the anchors and the
    /// mirror files — so none handed out before the loss is handed out again. `None` when
    /// nothing is lost.
    pub fn accept_audit_loss(&mut self, actor: &str) -> Result<Option<Event>, CoreError> {
        self.refresh()?;
        let (from, to) = match self.store.anchor_report().1 {
            Ok(()) => return Ok(None),
            Err(crate::store::AnchorError::Lost { from, to, .. }) => (from, to),
            Err(crate::store::AnchorError::Replaced { seq, .. }) => (seq, seq),
            Err(e) => return Err(StoreError::from(e).into()),
        };
        let seen = crate::store::verify::highest_mirrored_seq(self.store.mirror_dir());
        let ids_from = to.max(seen).max(self.state.last_event_seq);
        let now = now();
        let event = Event {
            seq: self.state.last_event_seq + 1,
            at: now.clone(),
            command_seq: None,
            actor: actor.to_string(),
            kind: EventKind::AuditLossAccepted { from, to, ids_from },
        };
        let record = NewRecord {
            topic: event.kind.topic(),
            at: now,
            body: to_json(&event),
        };
        let appended = self.store.accept_loss(&[record])?;
        self.state.apply(&event);
        let _ = self.events.send(event.clone());
        self.applied_through = appended
            .last()
            .map(|r| r.seq)
            .unwrap_or(self.applied_through);
        Ok(Some(event))
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
pub(super) fn catch_up(
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
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing our own plain-data types cannot fail (no non-string map keys, no I/O).
    serde_json::to_string(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialization failed");
        "null".to_string()
    })
}

//! Snapshots of the materialized state, in three parts: the concerns (table
//! `snapshot_parts`) and the checkpoints before the newest [`RECENT_CHECKPOINTS`] (table
//! `snapshot_timeline`) apart from the rest (table `snapshots`). Open concerns are the part of the live state a busy swarm can pile up
//! by the thousand, and most commands never read them: a `concern raise` run without an owner
//! opens without them (`Core::open_lean`), so its cost does not grow with the concerns
//! left open. The timeline grows by a checkpoint a Save, for ever; `status --json` shows its
//! newest and reads only them (`Core::open_recent`). The parts are written in one transaction
//! and read together everywhere else.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};
use crate::protocol::model::{Checkpoint, Concern, ConcernId};
use crate::protocol::State;

/// How many of the newest checkpoints a snapshot keeps with the rest of the state: what
/// `status --json` shows of the timeline (the older ones are a part of their own).
pub const RECENT_CHECKPOINTS: usize = 50;

/// The part tables: one row per snapshot and part (`concerns`), and one per snapshot for
/// its older checkpoints and their count. Created where missing, like the item index, so an
/// older build still opens the store (and replays: the state version of a snapshot in parts
/// is newer than it knows). The timeline is a rowid table of its own: a row of
/// `snapshot_parts` (a key-ordered b-tree) whose body spills over pages is read whole each
/// time a lookup compares its key, so a second part there made every lean open read the
/// concerns it means to skip (megabytes with 10,000 open).
const CREATE: &str = "
    CREATE TABLE IF NOT EXISTS snapshot_parts (
        record_seq INTEGER NOT NULL,
        part       TEXT NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (record_seq, part)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS snapshot_timeline (
        record_seq INTEGER PRIMARY KEY,
        older      INTEGER NOT NULL,
        body       TEXT NOT NULL
    );";

/// Leaves `state` the timeline's newest [`RECENT_CHECKPOINTS`] checkpoints (what
/// `status --json` shows of it); returns how many older ones it let go.
pub fn keep_recent_checkpoints(state: &mut State) -> usize {
    let older = state.checkpoints.len().saturating_sub(RECENT_CHECKPOINTS);
    state.checkpoints.drain(..older);
    older
}

/// One stored snapshot as read: the state as of record `seq`, its concerns and its older
/// checkpoints apart (`None` when not read, or for a snapshot written without that part).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub seq: u64,
    pub version: i64,
    pub state: String,
    pub concerns: Option<String>,
    pub older_checkpoints: Option<String>,
}

/// The parts a snapshot is stored in (see [`Snapshot::encode`]).
pub struct Parts {
    /// The state without its concerns, with its newest checkpoints only.
    pub rest: String,
    pub concerns: String,
    /// The checkpoints before the newest [`RECENT_CHECKPOINTS`], oldest first.
    pub older_checkpoints: String,
}

impl Snapshot {
    /// The parts of `state`: the state without its concerns and older checkpoints (taken
    /// out for the moment, and put back), the concerns, and the older checkpoints.
    pub fn encode(state: &mut State) -> Parts {
        let concerns = std::mem::take(&mut state.concerns);
        let split = state.checkpoints.len().saturating_sub(RECENT_CHECKPOINTS);
        let recent = state.checkpoints.split_off(split);
        let mut older = std::mem::replace(&mut state.checkpoints, recent);
        let rest = serde_json::to_string(state);
        older.append(&mut state.checkpoints);
        state.checkpoints = older;
        state.concerns = concerns;
        let older = serde_json::to_string(&state.checkpoints[..split]);
        Parts {
            rest: rest.expect("a state serializes"),
            concerns: serde_json::to_string(&state.concerns).expect("concerns serialize"),
            older_checkpoints: older.expect("checkpoints serialize"),
        }
    }

    /// The state from the parts read: all of them, but for those left unread.
    pub fn decode(&self) -> serde_json::Result<State> {
        let mut state: State = serde_json::from_str(&self.state)?;
        if let Some(c) = &self.concerns {
            state.concerns =
                serde_json::from_str::<std::collections::BTreeMap<ConcernId, Concern>>(c)?;
        }
        if let Some(c) = &self.older_checkpoints {
            let mut older: Vec<Checkpoint> = serde_json::from_str(c)?;
            older.append(&mut state.checkpoints);
            state.checkpoints = older;
        }
        Ok(state)
    }
}

impl Store {
    /// Creates the part table where it is missing (at open, on a writable store).
    pub(super) fn create_snapshot_parts(&self) -> Result<(), StoreError> {
        self.conn.execute_batch(CREATE).map_err(|e| self.sql_err(e))
    }

    /// The newest snapshot, every part.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        self.latest_snapshot_parts(true, true)
    }

    /// The newest snapshot with the parts asked for: its concerns, its older checkpoints
    /// (without them, the timeline's newest [`RECENT_CHECKPOINTS`] only).
    pub fn latest_snapshot_parts(
        &self,
        concerns: bool,
        older_checkpoints: bool,
    ) -> Result<Option<Snapshot>, StoreError> {
        let Some(mut snap) = self.latest_snapshot_without_concerns()? else {
            return Ok(None);
        };
        if concerns {
            snap.concerns = self.snapshot_part(snap.seq, "concerns")?;
        }
        if older_checkpoints {
            snap.older_checkpoints = self.optional_row(
                "SELECT body FROM snapshot_timeline WHERE record_seq = ?1",
                snap.seq,
            )?;
        }
        Ok(Some(snap))
    }

    /// How many checkpoints the newest snapshot keeps in its part of older ones (0 for a
    /// snapshot written without it).
    pub fn older_checkpoints_count(&self, seq: u64) -> Result<usize, StoreError> {
        let older: Option<i64> = self.optional_row(
            "SELECT older FROM snapshot_timeline WHERE record_seq = ?1",
            seq,
        )?;
        Ok(older.unwrap_or(0) as usize)
    }

    /// The newest snapshot's main part alone: neither its concerns nor its older
    /// checkpoints are read from the file.
    pub fn latest_snapshot_without_concerns(&self) -> Result<Option<Snapshot>, StoreError> {
        self.conn
            .query_row(
                "SELECT record_seq, state_version, state FROM snapshots ORDER BY record_seq DESC LIMIT 1",
                [],
                |r| {
                    Ok(Snapshot {
                        seq: r.get::<_, i64>(0)? as u64,
                        version: r.get(1)?,
                        state: r.get(2)?,
                        concerns: None,
                        older_checkpoints: None,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// One part of the snapshot at `seq`; none where it was written in one part, or by a
    /// store that has no part table (a read-only store an older build wrote).
    fn snapshot_part(&self, seq: u64, part: &str) -> Result<Option<String>, StoreError> {
        let found = self
            .conn
            .query_row(
                "SELECT body FROM snapshot_parts WHERE record_seq = ?1 AND part = ?2",
                params![seq as i64, part],
                |r| r.get(0),
            )
            .optional();
        self.missing_table_is_none(found)
    }

    /// The one column `sql` selects for the snapshot at `seq`; none where there is no row, or
    /// no table (a read-only store an older build wrote).
    fn optional_row<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        seq: u64,
    ) -> Result<Option<T>, StoreError> {
        let found = self
            .conn
            .query_row(sql, params![seq as i64], |r| r.get(0))
            .optional();
        self.missing_table_is_none(found)
    }

    fn missing_table_is_none<T>(
        &self,
        found: rusqlite::Result<Option<T>>,
    ) -> Result<Option<T>, StoreError> {
        match found {
            Ok(body) => Ok(body),
            Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.contains("no such table") => {
                Ok(None)
            }
            Err(e) => Err(self.sql_err(e)),
        }
    }

    /// Stores a snapshot of the state as of record `record_seq` in its two parts, keeping the
    /// two newest.
    pub fn save_snapshot(
        &mut self,
        record_seq: u64,
        state_version: i64,
        state: &mut State,
    ) -> Result<(), StoreError> {
        let parts = Snapshot::encode(state);
        let older = state.checkpoints.len().saturating_sub(RECENT_CHECKPOINTS);
        self.write_derived(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO snapshots (record_seq, state_version, state) VALUES (?1, ?2, ?3)",
                params![record_seq as i64, state_version, parts.rest],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO snapshot_parts (record_seq, part, body) VALUES (?1, 'concerns', ?2)",
                params![record_seq as i64, parts.concerns],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO snapshot_timeline (record_seq, older, body) VALUES (?1, ?2, ?3)",
                params![record_seq as i64, older as i64, parts.older_checkpoints],
            )?;
            tx.execute(
                "DELETE FROM snapshots WHERE record_seq NOT IN (SELECT record_seq FROM snapshots ORDER BY record_seq DESC LIMIT 2)",
                [],
            )?;
            tx.execute(
                "DELETE FROM snapshot_parts WHERE record_seq NOT IN (SELECT record_seq FROM snapshots)",
                [],
            )?;
            tx.execute(
                "DELETE FROM snapshot_timeline WHERE record_seq NOT IN (SELECT record_seq FROM snapshots)",
                [],
            )?;
            Ok(())
        })
    }
}

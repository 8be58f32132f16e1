//! Snapshots of the materialized state, in two parts: the concerns (table `snapshot_parts`)
//! apart from the rest (table `snapshots`). Open concerns are the one part of the live state
//! a busy swarm can pile up by the thousand, and most commands never read them: a
//! `concern raise` run without an owner opens the small part only (`Core::open_lean`), so its
//! cost does not grow with the concerns left open. Both parts are written in one transaction
//! and read together everywhere else.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};
use crate::protocol::model::{Concern, ConcernId};
use crate::protocol::State;

/// The part table: one row per snapshot and part (`concerns`). Created where missing, like
/// the item index, so an older build still opens the store (and replays: the state version
/// of a two-part snapshot is newer than it knows).
const CREATE: &str = "
    CREATE TABLE IF NOT EXISTS snapshot_parts (
        record_seq INTEGER NOT NULL,
        part       TEXT NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (record_seq, part)
    ) WITHOUT ROWID;";

/// One stored snapshot as read: the state as of record `seq`, and its concerns apart (`None`
/// when not read, or for a snapshot written in one part).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub seq: u64,
    pub version: i64,
    pub state: String,
    pub concerns: Option<String>,
}

impl Snapshot {
    /// The two parts of `state`: the state without its concerns (taken out for the moment,
    /// and put back), and the concerns.
    pub fn encode(state: &mut State) -> (String, String) {
        let concerns = std::mem::take(&mut state.concerns);
        let rest = serde_json::to_string(state);
        state.concerns = concerns;
        let rest = rest.expect("a state serializes");
        let concerns = serde_json::to_string(&state.concerns).expect("concerns serialize");
        (rest, concerns)
    }

    /// The whole state, both parts.
    pub fn decode(&self) -> serde_json::Result<State> {
        let mut state: State = serde_json::from_str(&self.state)?;
        if let Some(c) = &self.concerns {
            state.concerns =
                serde_json::from_str::<std::collections::BTreeMap<ConcernId, Concern>>(c)?;
        }
        Ok(state)
    }
}

impl Store {
    /// Creates the part table where it is missing (at open, on a writable store).
    pub(super) fn create_snapshot_parts(&self) -> Result<(), StoreError> {
        self.conn.execute_batch(CREATE).map_err(|e| self.sql_err(e))
    }

    /// The newest snapshot, both parts.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let Some(mut snap) = self.latest_snapshot_without_concerns()? else {
            return Ok(None);
        };
        snap.concerns = self.snapshot_part(snap.seq, "concerns")?;
        Ok(Some(snap))
    }

    /// The newest snapshot without its concerns (they are not read from the file).
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
        let (rest, concerns) = Snapshot::encode(state);
        self.write_derived(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO snapshots (record_seq, state_version, state) VALUES (?1, ?2, ?3)",
                params![record_seq as i64, state_version, rest],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO snapshot_parts (record_seq, part, body) VALUES (?1, 'concerns', ?2)",
                params![record_seq as i64, concerns],
            )?;
            tx.execute(
                "DELETE FROM snapshots WHERE record_seq NOT IN (SELECT record_seq FROM snapshots ORDER BY record_seq DESC LIMIT 2)",
                [],
            )?;
            tx.execute(
                "DELETE FROM snapshot_parts WHERE record_seq NOT IN (SELECT record_seq FROM snapshots)",
                [],
            )?;
            Ok(())
        })
    }
}

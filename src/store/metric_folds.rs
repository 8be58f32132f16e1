//! The metrics' running fold beside the trail (tables `metrics_running` and `metrics_marks`,
//! outside the hash chain; `metrics::running` says what they hold): one row with the fold of
//! the whole log up to a record, and a mark every few thousand records for the windows. Each
//! row names its record and keeps that record's hash, and is read only while the record still
//! has it: a trail rewritten since (an accepted loss) or a row of another version is ignored,
//! and the fold is made again from the trail. Written by whoever reads the metrics and may
//! write (`core::metrics_reader`), in a transaction of its own; a read-only store is folded
//! from the trail instead.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

const CREATE: &str = "
    CREATE TABLE IF NOT EXISTS metrics_running (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        through INTEGER NOT NULL,
        hash    BLOB NOT NULL,
        state   TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS metrics_marks (
        seq     INTEGER PRIMARY KEY,
        version INTEGER NOT NULL,
        hash    BLOB NOT NULL,
        max_at  INTEGER,
        carried TEXT NOT NULL
    );";

/// The events stored after `after` and up to `through`, at most `limit`, oldest first.
const EVENT_PAGE: &str = "SELECT seq, body FROM records WHERE seq > ?1 AND seq <= ?2 AND topic IN ('event','concern','handoff','git') ORDER BY seq LIMIT ?3";

/// A mark to store: its record, its newest stamp, what it carries (JSON).
pub struct MarkRow {
    pub seq: u64,
    pub max_at: Option<i64>,
    pub carried: String,
}

impl Store {
    fn has_metric_folds(&self) -> Result<bool, StoreError> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'metrics_running'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.sql_err(e))
    }

    /// The stored running fold of `version` (the record it reaches, its JSON), when its record
    /// still has the hash it was made with.
    pub fn metrics_running(&self, version: i64) -> Result<Option<(u64, String)>, StoreError> {
        if !self.has_metric_folds()? {
            return Ok(None);
        }
        self.conn()
            .query_row(
                "SELECT m.through, m.state FROM metrics_running m
                 JOIN records r ON r.seq = m.through AND r.hash = m.hash
                 WHERE m.id = 1 AND m.version = ?1",
                [version],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// The newest stored mark of `version` at or before record `through` whose events are all
    /// stamped before `start` (ms), when its record still has the hash it was made with.
    pub fn metrics_mark_before(
        &self,
        version: i64,
        through: u64,
        start: i64,
    ) -> Result<Option<(u64, String)>, StoreError> {
        if !self.has_metric_folds()? {
            return Ok(None);
        }
        self.conn()
            .query_row(
                "SELECT m.seq, m.carried FROM metrics_marks m
                 JOIN records r ON r.seq = m.seq AND r.hash = m.hash
                 WHERE m.version = ?1 AND m.seq <= ?2 AND coalesce(m.max_at, ?3) < ?4
                 ORDER BY m.seq DESC LIMIT 1",
                params![version, through as i64, i64::MIN, start],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// Stores the running fold reaching `through` (unless a valid one reaches as far) and
    /// `marks`, in one transaction. An error where the store cannot be written.
    pub fn save_metrics_running(
        &self,
        version: i64,
        through: u64,
        state: &str,
        marks: &[MarkRow],
    ) -> Result<(), StoreError> {
        if let Some(e) = self.write_blocker() {
            return Err(e);
        }
        let conn = self.conn();
        // IMMEDIATE: the write lock is taken at once (waiting for the owner's commit), not on
        // the first write, where a deferred transaction could not wait.
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.sql_err(e))?;
        let write = || -> rusqlite::Result<()> {
            conn.execute_batch(CREATE)?;
            let mut mark = conn.prepare_cached(
                "INSERT OR REPLACE INTO metrics_marks (seq, version, hash, max_at, carried)
                 SELECT ?1, ?2, hash, ?3, ?4 FROM records WHERE seq = ?1",
            )?;
            for m in marks {
                mark.execute(params![m.seq as i64, version, m.max_at, m.carried])?;
            }
            drop(mark);
            conn.execute(
                "INSERT OR REPLACE INTO metrics_running (id, version, through, hash, state)
                 SELECT 1, ?1, ?2, r.hash, ?3 FROM records r WHERE r.seq = ?2
                 AND NOT EXISTS (SELECT 1 FROM metrics_running m
                     JOIN records h ON h.seq = m.through AND h.hash = m.hash
                     WHERE m.id = 1 AND m.version = ?1 AND m.through >= ?2)",
                params![version, through as i64, state],
            )?;
            conn.execute_batch("COMMIT")
        };
        write().map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            self.sql_err(e)
        })
    }

    /// The events stored after record `after` and up to `through`, `limit` at most, oldest
    /// first: the metrics read the trail page by page, never all of it at once.
    pub fn event_page(
        &self,
        after: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached(EVENT_PAGE)
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map(
                params![
                    after as i64,
                    through as i64,
                    limit.min(i64::MAX as usize) as i64
                ],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_err(e))
    }
}

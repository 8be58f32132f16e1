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
    );
    CREATE TABLE IF NOT EXISTS metrics_tasks (
        task    TEXT PRIMARY KEY,
        row     TEXT NOT NULL
    ) WITHOUT ROWID;";

/// The stored fold's record (valid: its record still has the hash), of a version.
const STORED_THROUGH: &str = "SELECT m.through FROM metrics_running m
    JOIN records r ON r.seq = m.through AND r.hash = m.hash
    WHERE m.id = 1 AND m.version = ?1";

/// The events stored after `after` and up to `through`, at most `limit`, oldest first.
const EVENT_PAGE: &str = "SELECT seq, body FROM records WHERE seq > ?1 AND seq <= ?2 AND topic IN ('event','concern','handoff','git') ORDER BY seq LIMIT ?3";

/// A running fold to store ([`Store::save_metrics_running`]).
pub struct FoldWrite<'a> {
    pub version: i64,
    /// The stored fold this one went on from (0: it folded the trail from the beginning, and
    /// replaces a stored fold that reaches no further).
    pub base: u64,
    /// The last record it folded.
    pub through: u64,
    /// The fold without its per-task figures (JSON).
    pub state: &'a str,
    pub marks: &'a [MarkRow],
    /// The tasks whose rows it changed since `base`.
    pub tasks: &'a [&'a str],
    /// With `base` 0: replace whatever is stored (its rows could not be read).
    pub replace: bool,
}

/// Whether a fold was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Stored,
    /// Another process stored a fold since this one's base (or the stored one no longer
    /// matches the trail): nothing was written; read the stored fold again.
    Stale,
}

/// Makes the row to store for a task from the stored one (`None`: none yet); an error when
/// the stored one cannot be read.
pub type MergeRow<'a> = dyn FnMut(&str, Option<String>) -> Result<String, String> + 'a;

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

    /// Stores a running fold with its marks and task rows, in one transaction, when the
    /// stored fold is still the one it went on from (`base`; for 0, one that reaches no
    /// further than this one): the rows of `tasks` become `merge(task, stored row)` (from the
    /// beginning: every row is dropped first). An error where the store cannot be written,
    /// or `merge`'s (a stored row that cannot be read), and then nothing is written.
    pub fn save_metrics_running(
        &self,
        fold: &FoldWrite<'_>,
        merge: &mut MergeRow<'_>,
    ) -> Result<Saved, StoreError> {
        if let Some(e) = self.write_blocker() {
            return Err(e);
        }
        let conn = self.conn();
        // IMMEDIATE: the write lock is taken at once (waiting for the owner's commit), not on
        // the first write, where a deferred transaction could not wait.
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.sql_err(e))?;
        let mut unreadable = None;
        let mut write = || -> rusqlite::Result<Saved> {
            conn.execute_batch(CREATE)?;
            let stored: Option<i64> = conn
                .query_row(STORED_THROUGH, [fold.version], |r| r.get(0))
                .optional()?;
            let from_scratch = match (fold.base, stored) {
                (0, _) if fold.replace => true,
                (0, None) => true,
                (0, Some(t)) if t <= fold.through as i64 => true,
                (b, Some(t)) if b > 0 && t == b as i64 => false,
                _ => {
                    conn.execute_batch("ROLLBACK")?;
                    return Ok(Saved::Stale);
                }
            };
            if from_scratch {
                conn.execute("DELETE FROM metrics_tasks", [])?;
            }
            let mut read = conn.prepare_cached("SELECT row FROM metrics_tasks WHERE task = ?1")?;
            let mut put = conn.prepare_cached(
                "INSERT OR REPLACE INTO metrics_tasks (task, row) VALUES (?1, ?2)",
            )?;
            for task in fold.tasks {
                let old: Option<String> = read.query_row([task], |r| r.get(0)).optional()?;
                match merge(task, old) {
                    Ok(row) => put.execute(params![task, row])?,
                    Err(e) => {
                        unreadable = Some(e);
                        return Err(rusqlite::Error::InvalidQuery);
                    }
                };
            }
            drop((read, put));
            let mut mark = conn.prepare_cached(
                "INSERT OR REPLACE INTO metrics_marks (seq, version, hash, max_at, carried)
                 SELECT ?1, ?2, hash, ?3, ?4 FROM records WHERE seq = ?1",
            )?;
            for m in fold.marks {
                mark.execute(params![m.seq as i64, fold.version, m.max_at, m.carried])?;
            }
            drop(mark);
            conn.execute(
                "INSERT OR REPLACE INTO metrics_running (id, version, through, hash, state)
                 SELECT 1, ?1, ?2, r.hash, ?3 FROM records r WHERE r.seq = ?2",
                params![fold.version, fold.through as i64, fold.state],
            )?;
            conn.execute_batch("COMMIT")?;
            Ok(Saved::Stored)
        };
        let written = write();
        written.map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            match unreadable.take() {
                Some(message) => StoreError::Corrupt {
                    path: self.path.display().to_string(),
                    message,
                },
                None => self.sql_err(e),
            }
        })
    }

    /// Hands `each` the stored task rows (task, JSON) of the fold of `version` reaching
    /// `base`, all of them or those of `tasks`, read in one statement (one snapshot); `false`
    /// when the stored fold is no longer that one (read it again: what `each` got does not
    /// count). Nothing for `base` 0.
    pub fn metrics_task_rows(
        &self,
        version: i64,
        base: u64,
        tasks: Option<&[String]>,
        each: &mut dyn FnMut(String, &str),
    ) -> Result<bool, StoreError> {
        if base == 0 {
            return Ok(true);
        }
        let wanted = tasks.map(|t| serde_json::Value::from(t.to_vec()).to_string());
        let sql = format!(
            "SELECT NULL, through FROM ({STORED_THROUGH})
             UNION ALL
             SELECT task, row FROM metrics_tasks
             WHERE ?2 IS NULL OR task IN (SELECT value FROM json_each(?2))"
        );
        let mut stmt = self
            .conn()
            .prepare_cached(&sql)
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt
            .query(params![version, wanted])
            .map_err(|e| self.sql_err(e))?;
        let mut through = None;
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let task = r.get::<_, Option<String>>(0).map_err(|e| self.sql_err(e))?;
            let value = r.get_ref(1).map_err(|e| self.sql_err(e))?;
            match (task, value) {
                (None, rusqlite::types::ValueRef::Integer(t)) => through = Some(t),
                (Some(task), rusqlite::types::ValueRef::Text(row)) => {
                    each(task, &String::from_utf8_lossy(row))
                }
                (task, _) => {
                    return Err(StoreError::Corrupt {
                        path: self.path.display().to_string(),
                        message: format!("a metrics row of task {task:?} is not text"),
                    })
                }
            }
        }
        Ok(through == Some(base as i64))
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

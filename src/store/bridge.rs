//! The Discord bridge's ledger in the audit store's SQLite file: the last event whose alerts
//! reached Discord (the delivery cursor) and the message that shows each concern and
//! approval. It lives in its own table (`discord_outbox`), outside the hash chain: it records
//! what Discord was told, not what happened, and the bridge — in the owner or in its own
//! process — writes it through a connection of its own while the owner writes the chain.
//!
//! What must reach Discord is derived from the audit trail itself: after a restart the bridge
//! reads the events after its cursor ([`Ledger::events_after`]) and routes them again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::protocol::Event;

/// Where delivery stands: the last event (its `seq`) whose alerts all reached Discord, and a
/// record sequence number at or before that event's record (where reading resumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub event: u64,
    pub record: u64,
}

/// Which message shows a thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    Concern,
    Approval,
}

impl LinkKind {
    fn prefix(self) -> &'static str {
        match self {
            LinkKind::Concern => "concern:",
            LinkKind::Approval => "approval:",
        }
    }
}

/// `Sync` (the connection behind a mutex), so the outbox can hold it across awaits.
pub struct Ledger {
    path: PathBuf,
    conn: std::sync::Mutex<Connection>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS discord_outbox (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)";

impl Ledger {
    /// Opens the ledger in the store file `db` (which must exist: the owner creates it).
    pub fn open(db: &Path) -> Result<Ledger, String> {
        let shown = db.display().to_string();
        if !db.exists() {
            return Err(format!("audit store {shown} does not exist"));
        }
        let err = |e: rusqlite::Error| format!("audit store {shown}: {e}");
        let conn = Connection::open(db).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Ledger {
            path: db.to_path_buf(),
            conn: std::sync::Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, e: rusqlite::Error) -> String {
        format!("audit store {}: {e}", self.path.display())
    }

    fn get(&self, key: &str) -> Result<Option<String>, String> {
        self.conn()
            .query_row(
                "SELECT value FROM discord_outbox WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn put(&self, key: &str, value: &str) -> Result<(), String> {
        self.conn()
            .execute(
                "INSERT INTO discord_outbox (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The delivery cursor; `None` before the bridge ever ran on this store.
    pub fn cursor(&self) -> Result<Option<Cursor>, String> {
        let Some(v) = self.get("cursor")? else {
            return Ok(None);
        };
        let (event, record) = v.split_once(' ').unwrap_or((v.as_str(), "0"));
        match (event.parse(), record.parse()) {
            (Ok(event), Ok(record)) => Ok(Some(Cursor { event, record })),
            _ => Err(format!(
                "audit store {}: the Discord cursor {v:?} cannot be read",
                self.path.display()
            )),
        }
    }

    pub fn set_cursor(&self, c: Cursor) -> Result<(), String> {
        self.put("cursor", &format!("{} {}", c.event, c.record))
    }

    /// Every recorded message of `kind`: id (`C-3`, `A-5`) → message id.
    pub fn links(&self, kind: LinkKind) -> Result<HashMap<String, u64>, String> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT key, value FROM discord_outbox WHERE key LIKE ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([format!("{}%", kind.prefix())], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = HashMap::new();
        for row in rows {
            let (k, v) = row.map_err(|e| self.err(e))?;
            if let (Some(id), Ok(mid)) = (k.strip_prefix(kind.prefix()), v.parse()) {
                out.insert(id.to_string(), mid);
            }
        }
        Ok(out)
    }

    pub fn link(&self, kind: LinkKind, id: &str, message: u64) -> Result<(), String> {
        self.put(&format!("{}{id}", kind.prefix()), &message.to_string())
    }

    /// The events after `cursor` up to event `through`, oldest first, each with its record's
    /// sequence number. A record's number is never below its event's (commands and responses
    /// are records too), so reading starts at the larger of the two marks.
    pub fn events_after(&self, cursor: Cursor, through: u64) -> Result<Vec<(u64, Event)>, String> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT seq, body FROM records WHERE seq > ?1 AND topic IN ('event','concern','handoff','git') ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let from = cursor.record.max(cursor.event) as i64;
        let rows = stmt
            .query_map([from], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row.map_err(|e| self.err(e))?;
            let event = Event::from_json(&body).map_err(|e| {
                format!(
                    "audit store {}: record {seq} is not an event: {e}",
                    self.path.display()
                )
            })?;
            if event.seq > through {
                break;
            }
            if event.seq > cursor.event {
                out.push((seq, event));
            }
        }
        Ok(out)
    }
}

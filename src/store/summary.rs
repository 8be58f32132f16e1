//! `audit summary` and `audit export`: what the trail holds, for people and tools.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    pub records: u64,
    pub by_topic: BTreeMap<String, u64>,
    pub events_by_kind: BTreeMap<String, u64>,
    pub commands_rejected: u64,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
    pub head_seq: u64,
    pub head_hash: Option<String>,
}

impl AuditSummary {
    pub fn render_text(&self) -> String {
        let mut out = format!("Audit trail: {} records", self.records);
        if let (Some(a), Some(b)) = (&self.first_at, &self.last_at) {
            out.push_str(&format!(" from {a} to {b}"));
        }
        out.push('\n');
        for (topic, n) in &self.by_topic {
            out.push_str(&format!("  {topic:<10} {n}\n"));
        }
        out.push_str(&format!("Commands rejected: {}\n", self.commands_rejected));
        if !self.events_by_kind.is_empty() {
            out.push_str("Events:\n");
            for (kind, n) in &self.events_by_kind {
                out.push_str(&format!("  {kind:<26} {n}\n"));
            }
        }
        out.push_str(&format!(
            "Chain head: record {} {}\n",
            self.head_seq,
            self.head_hash.as_deref().unwrap_or("(empty)")
        ));
        out
    }
}

pub fn summarize(store: &Store) -> Result<AuditSummary, StoreError> {
    let conn = store.conn();
    let err = |e| store.sql_err(e);
    let mut by_topic = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT topic, count(*) FROM records GROUP BY topic")
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(err)?;
    for row in rows {
        let (t, n) = row.map_err(err)?;
        by_topic.insert(t, n);
    }
    let mut events_by_kind = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(body, '$.kind.type'), count(*) FROM records
             WHERE topic NOT IN ('command','response') GROUP BY 1",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?
                    .unwrap_or_else(|| "(unreadable)".into()),
                r.get::<_, i64>(1)? as u64,
            ))
        })
        .map_err(err)?;
    for row in rows {
        let (k, n) = row.map_err(err)?;
        events_by_kind.insert(k, n);
    }
    let commands_rejected: i64 = conn
        .query_row(
            "SELECT count(*) FROM records WHERE topic = 'response' AND json_extract(body, '$.ok') = 0",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    let (first_at, last_at): (Option<String>, Option<String>) = conn
        .query_row(
            "SELECT (SELECT at FROM records ORDER BY seq LIMIT 1), (SELECT at FROM records ORDER BY seq DESC LIMIT 1)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(err)?;
    let (head_seq, head_hash) = store.head();
    Ok(AuditSummary {
        records: by_topic.values().sum(),
        by_topic,
        events_by_kind,
        commands_rejected: commands_rejected as u64,
        first_at,
        last_at,
        head_seq,
        head_hash: (head_seq > 0).then(|| hex::encode(head_hash)),
    })
}

/// Writes every record as a JSON line (`seq`, `topic`, `at`, `prev`, `hash`, `record`);
/// returns how many.
pub fn export(store: &Store, out: &mut dyn Write) -> Result<u64, StoreError> {
    export_range(store, 0, u64::MAX, out)
}

/// Like [`export`], for the records after `after` up to `through` (the daily digest's share).
pub fn export_range(
    store: &Store,
    after: u64,
    through: u64,
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    let conn = store.conn();
    let err = |e| store.sql_err(e);
    let io = |e: std::io::Error| StoreError::Io {
        path: "export".into(),
        message: e.to_string(),
    };
    let mut stmt = conn
        .prepare(
            "SELECT seq, topic, at, body, prev, hash FROM records WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
        )
        .map_err(err)?;
    let mut rows = stmt
        .query([after as i64, through.min(i64::MAX as u64) as i64])
        .map_err(err)?;
    let mut n = 0;
    while let Some(row) = rows.next().map_err(err)? {
        let seq: i64 = row.get(0).map_err(err)?;
        let topic: String = row.get(1).map_err(err)?;
        let at: String = row.get(2).map_err(err)?;
        let body: String = row.get(3).map_err(err)?;
        let prev: Vec<u8> = row.get(4).map_err(err)?;
        let hash: Vec<u8> = row.get(5).map_err(err)?;
        // The body is kept verbatim when it is JSON, so the export re-hashes exactly.
        let record = match serde_json::from_str::<&serde_json::value::RawValue>(&body) {
            Ok(raw) => raw.get().to_string(),
            Err(_) => serde_json::Value::String(body.clone()).to_string(),
        };
        writeln!(
            out,
            "{{\"seq\":{seq},\"topic\":{},\"at\":{},\"prev\":\"{}\",\"hash\":\"{}\",\"record\":{record}}}",
            serde_json::Value::String(topic),
            serde_json::Value::String(at),
            hex::encode(prev),
            hex::encode(hash)
        )
        .map_err(io)?;
        n += 1;
    }
    out.flush().map_err(io)?;
    Ok(n)
}

//! Audit store benchmarks, measured side by side in one run (see docs/PERFORMANCE.md):
//! - a durable audit append vs a plain rusqlite insert of the same payload, same pragmas;
//! - chain verification of 1,000,000 records, and the whole `audit verify` beside it;
//! - opening a store of 1,000,000 records to a ready state (snapshot + tail replay).
//!
//! `cargo bench --bench audit` (set OVERLORD_BENCH_RECORDS to change the store size).

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::model::{Concern, ConcernId, Role, Severity};
use overlord::protocol::{Event, EventKind, Topic};
use overlord::store::verify::{verify, verify_chain};
use overlord::store::{NewRecord, Store, StorePaths};
use overlord::workspace::Workspace;
use rusqlite::{params, Connection};

const AT: &str = "2026-11-21T10:02:00.000Z";

fn concern(n: u64) -> Concern {
    Concern {
        raised_by: Some("tester-1".into()),
        details: Some("3 of 14 unit tests fail; likely due to new API mismatch.".into()),
        ..Concern::raised(
            ConcernId(n),
            Role::Tester,
            Role::ProjectManager,
            Severity::Warning,
            "test_failure",
            format!("Regression tests failing after data loader change #{n}"),
            AT,
        )
    }
}

/// A realistic event record: concerns raised (the first 10,000), then acknowledgements and
/// resolutions of them.
fn event_record(event_seq: u64) -> NewRecord {
    let kind = if event_seq <= 10_000 {
        EventKind::ConcernRaised {
            concern: concern(event_seq),
        }
    } else if event_seq.is_multiple_of(2) {
        EventKind::ConcernAcknowledged {
            id: ConcernId(event_seq % 10_000 + 1),
        }
    } else {
        EventKind::ConcernResolved {
            id: ConcernId(event_seq % 10_000 + 1),
            note: Some("fixed in the loader".into()),
        }
    };
    let event = Event {
        seq: event_seq,
        at: AT.into(),
        command_seq: None,
        actor: "agent:tester-1".into(),
        kind,
    };
    NewRecord {
        topic: event.kind.topic(),
        at: AT.into(),
        body: serde_json::to_string(&event).expect("serialize"),
    }
}

fn payload() -> NewRecord {
    event_record(1)
}

fn open_plain(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
        .expect("wal");
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, at TEXT NOT NULL,
             body TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);",
    )
    .expect("schema");
    conn
}

fn bench_append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = payload();
    let mut group = c.benchmark_group("audit_append");
    group
        .sample_size(40)
        .measurement_time(Duration::from_secs(15));

    let plain = open_plain(&dir.path().join("plain.db"));
    let mut stmt = plain
        .prepare("INSERT INTO records (topic, at, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5)")
        .expect("prepare");
    let (prev, hash) = ([7u8; 32], [9u8; 32]);
    group.bench_function("plain_rusqlite_insert", |b| {
        b.iter(|| {
            stmt.execute(params![
                record.topic.as_str(),
                record.at,
                record.body,
                &prev[..],
                &hash[..]
            ])
            .expect("insert")
        })
    });

    let mut store = Store::open(&StorePaths::under(&dir.path().join("store"))).expect("store");
    group.bench_function("durable_audit_append", |b| {
        b.iter(|| {
            let mut guard = store.begin_write().expect("begin");
            let appended = guard.append(std::slice::from_ref(&record)).expect("append");
            guard.commit(&appended).expect("commit");
        })
    });
    group.finish();
}

/// Builds a repository whose store holds `n` records (every third a command, then its event
/// and response shape), snapshots it, then appends a tail of 999 event records after the
/// snapshot — the most an open has to replay with the default `snapshot_every`.
fn build_big_store(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    git2::Repository::init(dir.path()).expect("git init");
    let ws = Workspace::discover(dir.path()).expect("ws");
    ws.init().expect("init");
    let mut store = Store::open(&ws.store_paths()).expect("store");
    let mut event_seq = 0u64;
    let mut written = 0u64;
    let tail = 999;
    let body_n = n.saturating_sub(tail);
    while written < body_n {
        let batch = (body_n - written).min(20_000);
        let mut records = Vec::with_capacity(batch as usize);
        for i in 0..batch {
            let seq = written + i + 1;
            records.push(match seq % 3 {
                1 => NewRecord {
                    topic: Topic::Command,
                    at: AT.into(),
                    body: format!(
                        r#"{{"at":"{AT}","origin":{{"via":"agent","agent":"tester-1","role":"tester"}},"line":"/ack C-{}","command":{{"cmd":"ack","concern":"C-{}"}}}}"#,
                        seq % 10_000 + 1,
                        seq % 10_000 + 1
                    ),
                },
                2 => {
                    event_seq += 1;
                    event_record(event_seq)
                }
                _ => NewRecord {
                    topic: Topic::Response,
                    at: AT.into(),
                    body: format!(
                        r#"{{"command_seq":{},"ok":true,"message":"done","error":null,"events":[{event_seq}],"data":{{"type":"none"}}}}"#,
                        seq - 2
                    ),
                },
            });
        }
        let mut guard = store.begin_write().expect("begin");
        let appended = guard.append(&records).expect("append");
        guard.commit(&appended).expect("commit");
        written += batch;
    }
    drop(store);
    // Opening replays everything once and writes the snapshot.
    drop(Core::open(&ws, &Config::default()).expect("first open"));
    let mut store = Store::open(&ws.store_paths()).expect("store");
    let records: Vec<NewRecord> = (0..tail)
        .map(|_| {
            event_seq += 1;
            event_record(event_seq)
        })
        .collect();
    let mut guard = store.begin_write().expect("begin");
    let appended = guard.append(&records).expect("append");
    guard.commit(&appended).expect("commit");
    // The tail went in without the core: index it, as the core would have with each write.
    store.ensure_items().expect("index the items");
    dir
}

fn bench_big_store(c: &mut Criterion) {
    let n: u64 = std::env::var("OVERLORD_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    eprintln!("building a store of {n} records…");
    let dir = build_big_store(n);
    let ws = Workspace::discover(dir.path()).expect("ws");

    let mut group = c.benchmark_group(format!("store_{n}_records"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let store = Store::open_without_repair(&ws.store_paths()).expect("store");
    group.bench_function("verify_chain", |b| {
        b.iter(|| {
            let report = verify_chain(&store).expect("verify");
            assert!(report.first_break.is_none());
            assert_eq!(report.records, n);
        })
    });
    // The whole `audit verify` (chain in two halves, mirrors, the state replayed, on both
    // cores) on the same store, for the ratio to the chain-only walk (target ≤ 2×).
    group.bench_function("verify_whole", |b| {
        b.iter(|| {
            let report = verify(&store).expect("verify");
            assert!(report.ok, "{:?}", report.findings);
            assert_eq!(report.records, n);
        })
    });
    drop(store);
    group.bench_function("open_to_ready", |b| {
        b.iter_batched(
            || (),
            |_| {
                let core = Core::open(&ws, &Config::default()).expect("open");
                // Every concern raised, only the newest resolved ones held (the working set).
                let state = core.state();
                assert_eq!(state.counters.concerns as usize, 10_000.min(n as usize / 3));
                assert!(state.concerns.len() <= state.counters.concerns as usize);
                core
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_append, bench_big_store);
criterion_main!(benches);

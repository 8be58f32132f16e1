//! The audit store: restart equality, snapshots, mirrors, and tamper detection for each kind
//! of tampering (on the real SQLite file, as someone with the sqlite3 tool would do it).

use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::Topic;
use overlord::store::verify::{verify, VerifyReport};
use overlord::store::{hash_record, Store};
use rusqlite::{params, Connection};

use crate::common::*;

/// A store with a bit of everything in it.
fn busy_repo(snapshot_every: u64) -> (Repo, Core) {
    let repo = Repo::new();
    let ws = repo.workspace();
    ws.init().unwrap();
    let mut config = Config::default();
    config.core.snapshot_every = snapshot_every;
    let mut core = Core::open(&ws, &config).unwrap();
    repo.write("plan.json", PLAN);
    ok(&mut core, "/import plan.json");
    ok(&mut core, "/agent impl-1 --role implementer --task t1_data");
    ok(&mut core, "/agent designer-1 --role designer");
    for i in 0..4 {
        ok(
            &mut core,
            &format!("/raise --severity warning --category gap concern number {i}"),
        );
    }
    ok(&mut core, "/ack C-1");
    ok(&mut core, "/assign designer-1 C-2 look at it");
    ok(&mut core, "/resolve C-3 done");
    ok(&mut core, "/handoff --from designer --to implementer --purpose spec --input design/DESIGN_SPEC.md spec ready");
    ok(&mut core, "/approve plan");
    ok(&mut core, "/pause all");
    ok(&mut core, "/clarify designer-1 why?");
    let _ = run(&mut core, "/resolve C-3 twice"); // rejected, still audited
    (repo, core)
}

fn verify_repo(repo: &Repo) -> VerifyReport {
    let store = Store::open_without_repair(&repo.workspace().store_paths()).unwrap();
    verify(&store).unwrap()
}

fn first(report: &VerifyReport) -> String {
    assert!(!report.ok, "tampering went unnoticed");
    report.findings[0].to_string()
}

#[test]
fn state_after_reopen_equals_state_before() {
    for snapshot_every in [1, 5, 1000] {
        let (repo, core) = busy_repo(snapshot_every);
        let before = core.state().clone();
        drop(core);
        let after = repo.reopen();
        assert_eq!(&before, after.state(), "snapshot_every = {snapshot_every}");
        assert!(verify_repo(&repo).ok);
    }
}

#[test]
fn reopen_without_snapshots_replays_to_the_same_state() {
    let (repo, core) = busy_repo(3);
    let before = core.state().clone();
    drop(core);
    Connection::open(repo.db())
        .unwrap()
        .execute("DELETE FROM snapshots", [])
        .unwrap();
    assert_eq!(&before, repo.reopen().state());
}

#[test]
fn a_clean_trail_verifies() {
    let (repo, _core) = busy_repo(4);
    let report = verify_repo(&repo);
    assert!(report.ok, "{:?}", report.findings);
    assert_eq!(report.mirrors_checked.len(), 5);
    assert!(report.records > 40);
    assert!(report.events > 10);
}

/// `audit verify` opened its store, then the owner wrote (and moved the head file): the
/// report reads the anchors and the head afresh, so no loss is reported where there is none.
#[test]
fn a_verify_started_before_another_process_wrote_reports_no_loss() {
    let (repo, core) = busy_repo(1000);
    drop(core);
    let paths = repo.workspace().store_paths();
    let reader = Store::open_without_repair(&paths).unwrap();
    let mut writer = Store::open(&paths).unwrap();
    append_in(&mut writer, &records(2));
    let anchored = std::fs::read_to_string(repo.path().join(".overlord/audit-head")).unwrap();
    assert!(
        anchored.contains(&format!("{}", writer.head().0)),
        "{anchored}"
    );
    assert!(writer.head().0 > reader.head().0);
    let (_, verdict) = reader.anchor_report();
    assert!(verdict.is_ok(), "{verdict:?}");
    let report = verify(&reader).unwrap();
    assert!(report.ok, "{:?}", report.findings);
}

#[test]
fn detects_a_modified_record() {
    let (repo, _core) = busy_repo(1000);
    let db = Connection::open(repo.db()).unwrap();
    db.execute("UPDATE records SET body = replace(body, 'done', 'DONE') WHERE seq = (SELECT seq FROM records WHERE topic='concern' AND body LIKE '%concern_resolved%')", []).unwrap();
    let seq: i64 = db
        .query_row(
            "SELECT seq FROM records WHERE instr(body, 'DONE') > 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let msg = first(&verify_repo(&repo));
    assert_eq!(
        msg,
        format!("record {seq} (records): its contents do not match its hash (record modified)")
    );
}

#[test]
fn detects_a_modified_record_whose_hash_was_recomputed() {
    let (repo, _core) = busy_repo(1000);
    let db = Connection::open(repo.db()).unwrap();
    let (topic, at, body, prev): (String, String, String, Vec<u8>) = db
        .query_row(
            "SELECT topic, at, body, prev FROM records WHERE seq = 8",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let forged = body.replacen("tester", "mallory", 1);
    assert_ne!(forged, body);
    let prev: [u8; 32] = prev.try_into().unwrap();
    let hash = hash_record(&prev, 8, Topic::parse(&topic).unwrap(), &at, &forged);
    db.execute(
        "UPDATE records SET body = ?1, hash = ?2 WHERE seq = 8",
        params![forged, &hash[..]],
    )
    .unwrap();
    let msg = first(&verify_repo(&repo));
    assert!(
        msg.starts_with(
            "record 8 (records): record 8 was modified or inserted and its hash recomputed"
        ),
        "{msg}"
    );
}

#[test]
fn detects_a_deleted_record() {
    let (repo, _core) = busy_repo(1000);
    Connection::open(repo.db())
        .unwrap()
        .execute("DELETE FROM records WHERE seq = 7", [])
        .unwrap();
    let msg = first(&verify_repo(&repo));
    assert_eq!(
        msg,
        "record 7 (records): record 7 is missing (deleted): the records jump from 6 to 8"
    );
}

#[test]
fn detects_reordered_records() {
    let (repo, _core) = busy_repo(1000);
    let db = Connection::open(repo.db()).unwrap();
    db.execute_batch(
        "UPDATE records SET seq = -1 WHERE seq = 12;
         UPDATE records SET seq = 12 WHERE seq = 13;
         UPDATE records SET seq = 13 WHERE seq = -1;",
    )
    .unwrap();
    let msg = first(&verify_repo(&repo));
    assert_eq!(
        msg,
        "record 12 (records): holds the contents of record 13 (records reordered)"
    );
}

#[test]
fn detects_an_inserted_record() {
    let (repo, _core) = busy_repo(1000);
    let db = Connection::open(repo.db()).unwrap();
    // Shift records 20.. up by one and insert a well-formed record at 20 that links to 19.
    db.execute_batch("UPDATE records SET seq = -seq WHERE seq >= 20; UPDATE records SET seq = -seq + 1 WHERE seq < 0;").unwrap();
    let prev: Vec<u8> = db
        .query_row("SELECT hash FROM records WHERE seq = 19", [], |r| r.get(0))
        .unwrap();
    let prev: [u8; 32] = prev.try_into().unwrap();
    let body = r#"{"seq":999,"at":"x","command_seq":null,"actor":"mallory","kind":{"type":"dispatch_resumed"}}"#;
    let hash = hash_record(&prev, 20, Topic::Event, "x", body);
    db.execute(
        "INSERT INTO records (seq, topic, at, body, prev, hash) VALUES (20, 'event', 'x', ?1, ?2, ?3)",
        params![body, &prev[..], &hash[..]],
    )
    .unwrap();
    let msg = first(&verify_repo(&repo));
    assert_eq!(
        msg,
        "record 20 (records): record 20 was inserted: record 21 holds what was record 20"
    );

    // And a record appended at the end without the right hash.
    let (repo, _core) = busy_repo(1000);
    let db = Connection::open(repo.db()).unwrap();
    let head: i64 = db
        .query_row("SELECT max(seq) FROM records", [], |r| r.get(0))
        .unwrap();
    db.execute(
        "INSERT INTO records (seq, topic, at, body, prev, hash) SELECT seq + 1, topic, at, body, hash, hash FROM records WHERE seq = ?1",
        [head],
    )
    .unwrap();
    let msg = first(&verify_repo(&repo));
    assert!(msg.starts_with(&format!("record {}", head + 1)), "{msg}");
}

#[test]
fn detects_a_truncated_store_through_the_mirrors() {
    let (repo, _core) = busy_repo(1000);
    let db = Connection::open(repo.db()).unwrap();
    let last_response: i64 = db
        .query_row(
            "SELECT max(seq) FROM records WHERE topic = 'response'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute("DELETE FROM records WHERE seq >= ?1", [last_response - 1])
        .unwrap();
    let report = verify_repo(&repo);
    assert!(!report.ok);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.problem.contains("the store does not have")),
        "{:?}",
        report.findings
    );
}

#[test]
fn detects_a_mirror_that_disagrees() {
    let (repo, _core) = busy_repo(1000);
    let path = repo.path().join(".overlord/audit/concerns.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("concern number 2", "concern number 9", 1),
    )
    .unwrap();
    let msg = first(&verify_repo(&repo));
    assert!(
        msg.contains("(audit/concerns.jsonl line 3): the mirror line disagrees with the store"),
        "{msg}"
    );

    let (repo, _core) = busy_repo(1000);
    let path = repo.path().join(".overlord/audit/commands.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(2);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let msg = first(&verify_repo(&repo));
    assert!(
        msg.contains("audit/commands.jsonl line 3") && msg.contains("line missing"),
        "{msg}"
    );
}

#[test]
fn detects_a_tampered_snapshot() {
    let (repo, _core) = busy_repo(5);
    let db = Connection::open(repo.db()).unwrap();
    let n = db
        .execute(
            "UPDATE snapshots SET state = replace(state, '\"dispatch_halted\":true', '\"dispatch_halted\":false') WHERE record_seq = (SELECT max(record_seq) FROM snapshots)",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    let report = verify_repo(&repo);
    let f = report
        .findings
        .iter()
        .find(|f| f.place == "snapshot")
        .expect("snapshot finding");
    assert!(f.problem.contains("disagrees with a replay"), "{f}");
}

#[test]
fn mirrors_are_repaired_after_a_crash_between_commit_and_mirror_write() {
    let (repo, core) = busy_repo(1000);
    drop(core);
    // The last command's response line never made it, and a torn half line was left behind.
    let path = repo.path().join(".overlord/audit/responses.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let last = lines.pop().unwrap();
    let torn = &last[..last.len() / 2];
    std::fs::write(&path, lines.join("\n") + "\n" + torn).unwrap();
    let report = verify_repo(&repo);
    assert!(!report.ok);
    let msg = first(&report);
    assert!(
        msg.contains("cut short") && msg.contains("crash left-over") && msg.contains("repairs it"),
        "{msg}"
    );
    // Without the torn half: the last line is just missing.
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let msg = first(&verify_repo(&repo));
    assert!(
        msg.contains("its last line (record")
            && msg.contains("crash left-over")
            && msg.contains("repairs it"),
        "{msg}"
    );
    let mut core = repo.reopen();
    assert!(verify_repo(&repo).ok, "{:?}", verify_repo(&repo).findings);
    ok(&mut core, "/status");
    assert!(verify_repo(&repo).ok);
}

#[test]
fn a_corrupt_or_foreign_store_is_a_clear_error() {
    let repo = Repo::new();
    repo.workspace().init().unwrap();
    std::fs::write(repo.db(), b"this is not a database, just text that is long enough to look like a header of some sort ......").unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", repo.db().display()));
    }
    let err = match Core::open(&repo.workspace(), &Config::default()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("opened a corrupt store"),
    };
    assert!(
        err.contains("not an SQLite database") || err.contains("not a database"),
        "{err}"
    );

    let repo = Repo::new();
    repo.workspace().init().unwrap();
    Connection::open(repo.db())
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = match Core::open(&repo.workspace(), &Config::default()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("opened a store from the future"),
    };
    assert!(err.contains("newer overlord-tui"), "{err}");
}

#[test]
fn a_bad_event_body_is_named_at_open() {
    let (repo, core) = busy_repo(1000);
    drop(core);
    let db = Connection::open(repo.db()).unwrap();
    db.execute("DELETE FROM snapshots", []).unwrap();
    db.execute("UPDATE records SET body = '{' WHERE seq = 2", [])
        .unwrap();
    let err = match Core::open(&repo.workspace(), &Config::default()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("opened a store with an unreadable event"),
    };
    assert!(err.contains("audit record 2 cannot be read"), "{err}");
}

#[test]
fn a_mirror_that_cannot_be_written_does_not_fail_a_committed_command() {
    let repo = Repo::new();
    repo.workspace().init().unwrap();
    let mirror = repo.path().join(".overlord/audit/concerns.jsonl");
    std::fs::remove_file(&mirror).unwrap();
    // Every write to /dev/full fails with ENOSPC, as a full disk would.
    std::os::unix::fs::symlink("/dev/full", &mirror).unwrap();
    let mut core = repo.reopen();
    let r = ok(
        &mut core,
        "/raise --severity info --category disk written anyway",
    );
    assert!(r.message.contains("C-1 raised"));
    assert!(core
        .state()
        .concerns
        .contains_key(&overlord::protocol::model::ConcernId(1)));
    drop(core);
    std::fs::remove_file(&mirror).unwrap();
    // The next open repairs the mirror from the store.
    let mut core = repo.reopen();
    ok(&mut core, "/ack C-1");
    let report = verify_repo(&repo);
    assert!(report.ok, "{:?}", report.findings);
    assert_eq!(std::fs::read_to_string(&mirror).unwrap().lines().count(), 2);
}

/// A full disk says so, in words, instead of SQLite's "database or disk is full" or a bare
/// "disk I/O error".
#[test]
fn a_full_disk_is_named_as_such() {
    use overlord::store::StoreError;
    let full = StoreError::Sqlite {
        path: "/tmp/x/.overlord/overlord.db".into(),
        source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(13), None),
    };
    assert_eq!(
        full.to_string(),
        "audit store /tmp/x/.overlord/overlord.db: the disk is full; nothing was written (free some space and try again)"
    );
    // An I/O error on a disk with room is reported as it is.
    let dir = tempfile::tempdir().unwrap();
    let io = StoreError::Sqlite {
        path: dir.path().join("overlord.db").display().to_string(),
        source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(10), None),
    };
    assert!(io.to_string().contains("disk I/O error"), "{io}");
}

// ---- Large stores: the batched append, the streamed two-core verify, the generator ----

#[allow(dead_code)]
#[path = "../benches/common/store_gen.rs"]
pub(crate) mod store_gen;

use overlord::store::verify::{verify_chain, verify_chain_parallel, ChainReport};
use overlord::store::{NewRecord, StorePaths};

/// `n` records (commands and responses), each with its own body.
fn records(n: u64) -> Vec<NewRecord> {
    (1..=n)
        .map(|i| {
            // Topics that are not events: the state's replay has nothing to read in them.
            let topic = [Topic::Command, Topic::Response][(i % 2) as usize];
            NewRecord {
                topic,
                at: format!("2026-11-21T10:{:02}:{:02}.000Z", i / 60 % 60, i % 60),
                body: format!(r#"{{"n":{i},"text":"record number {i}"}}"#),
            }
        })
        .collect()
}

fn append_in(store: &mut Store, records: &[NewRecord]) {
    let mut guard = store.begin_write().unwrap();
    let appended = guard.append(records).unwrap();
    guard.commit(&appended).unwrap();
}

/// A record's columns: seq, topic, at, body, prev, hash.
type Columns = (i64, String, String, String, Vec<u8>, Vec<u8>);

fn rows(db: &std::path::Path) -> Vec<Columns> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT seq, topic, at, body, prev, hash FROM records ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Thousands of records in one transaction make the same chain, the same mirror files and
/// the same verdict as one transaction per record.
#[test]
fn a_batched_store_is_the_same_store_as_an_unbatched_one() {
    let all = records(600);
    let batched = tempfile::tempdir().unwrap();
    let single = tempfile::tempdir().unwrap();
    let (pb, ps) = (
        StorePaths::under(batched.path()),
        StorePaths::under(single.path()),
    );
    let mut store = Store::open(&pb).unwrap();
    append_in(&mut store, &all[..500]);
    append_in(&mut store, &all[500..]);
    let mut one = Store::open(&ps).unwrap();
    for r in &all {
        append_in(&mut one, std::slice::from_ref(r));
    }
    assert_eq!(store.head(), one.head());
    assert_eq!(rows(&pb.db), rows(&ps.db));
    for topic in Topic::ALL {
        if let Some(name) = topic.mirror_file() {
            let a = std::fs::read(pb.audit_dir.join(name)).unwrap();
            let b = std::fs::read(ps.audit_dir.join(name)).unwrap();
            assert_eq!(a, b, "{name}");
        }
    }
    let (a, b) = (verify(&store).unwrap(), verify(&one).unwrap());
    assert!(a.ok, "{:?}", a.findings);
    assert_eq!(a, b);
}

/// What the sequential walk, the two-half walk and the whole `verify` say first.
fn verdicts(store: &Store) -> (ChainReport, ChainReport, Vec<String>) {
    let report = verify(store).unwrap();
    (
        verify_chain(store).unwrap(),
        verify_chain_parallel(store).unwrap(),
        report.findings.iter().map(|f| f.to_string()).collect(),
    )
}

/// The streamed verify splits a long chain into two halves checked at once: it names the
/// same first bad record as a walk from the start for a record modified, deleted or reordered
/// at the start, on both sides of the seam between the halves, and at the end.
#[test]
fn the_two_core_verify_names_the_same_first_bad_record_as_a_walk_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let paths = StorePaths::under(dir.path());
    let mut store = Store::open(&paths).unwrap();
    let n = 40_001u64;
    let all = records(n);
    for chunk in all.chunks(10_000) {
        append_in(&mut store, chunk);
    }
    let clean = verdicts(&store);
    assert!(
        clean.0.first_break.is_none() && clean.2.is_empty(),
        "{clean:?}"
    );
    assert_eq!(clean.0, clean.1);
    assert_eq!(clean.0.records, n);
    let mid = 1 + (n - 1) / 2; // the last record of the first half
    let db = Connection::open(&paths.db).unwrap();
    for at in [1, 2, mid - 1, mid, mid + 1, mid + 2, n - 1, n] {
        let cases: Vec<(&str, String, String, u64)> = vec![
            (
                "modified",
                format!("UPDATE records SET body = body || ' ' WHERE seq = {at}"),
                format!("UPDATE records SET body = rtrim(body, ' ') WHERE seq = {at}"),
                at,
            ),
            (
                "deleted",
                format!("CREATE TEMP TABLE kept AS SELECT * FROM records WHERE seq = {at}; DELETE FROM records WHERE seq = {at}"),
                "INSERT INTO records SELECT * FROM kept; DROP TABLE kept".to_string(),
                at,
            ),
        ];
        let mut cases = cases;
        if at < n {
            let b = at + 1;
            let swap = format!(
                "UPDATE records SET seq = -1 WHERE seq = {at}; UPDATE records SET seq = {at} WHERE seq = {b}; UPDATE records SET seq = {b} WHERE seq = -1"
            );
            cases.push(("reordered", swap.clone(), swap, at));
        }
        for (what, tamper, undo, blamed) in cases {
            db.execute_batch(&tamper).unwrap();
            let (walk, halves, first) = verdicts(&store);
            if what == "deleted" && at == n {
                // The last record deleted: the chain is whole; the head file names the loss.
                assert!(walk.first_break.is_none(), "{walk:?}");
                assert!(
                    first
                        .iter()
                        .any(|f| f.starts_with(&format!("record {n} (.overlord/audit-head)"))),
                    "{first:?}"
                );
            } else {
                let f = walk
                    .first_break
                    .clone()
                    .unwrap_or_else(|| panic!("{what} record {at} went unnoticed by the walk"));
                assert_eq!(f.seq, Some(blamed), "{what} record {at}: {f}");
                assert_eq!(first.first(), Some(&f.to_string()), "{what} {at}");
            }
            assert_eq!(walk, halves, "{what} record {at}");
            db.execute_batch(&undo).unwrap();
        }
    }
    let after = verdicts(&store);
    assert_eq!(after, clean);
}

/// `audit verify` reads each record once (chain, mirror line, and the events handed to the
/// replay on the other core in batches, parsed on either side): it finds what the separate
/// checks find, in the same order — for a clean generated store, and for one whose early
/// event (a concern's, so mirrored too) no longer reads, where the replay stops at once and
/// thousands of events still follow (the pass must not wait on a replay that has stopped).
#[test]
fn the_one_pass_verify_finds_what_the_separate_checks_find() {
    use overlord::store::verify::{verify_mirrors, verify_state, Finding};
    let dir = tempfile::tempdir().unwrap();
    let made = store_gen::generate(dir.path(), 12_000);
    let ws = overlord::workspace::Workspace::discover(dir.path()).unwrap();
    let paths = ws.store_paths();
    let store = Store::open_without_repair(&paths).unwrap();
    let separate = |store: &Store| -> Vec<String> {
        let mut found: Vec<Finding> = verify_chain(store)
            .unwrap()
            .first_break
            .into_iter()
            .collect();
        found.extend(verify_mirrors(store).unwrap().1);
        found.extend(verify_state(store).unwrap().1);
        found.sort_by_key(|f| f.seq.unwrap_or(u64::MAX));
        found.iter().map(|f| f.to_string()).collect()
    };
    let clean = verify(&store).unwrap();
    assert!(clean.ok, "{:?}", clean.findings);
    assert!(clean.state_checked);
    assert_eq!((clean.events, clean.records), (made.events, made.records));
    assert_eq!(verify_state(&store).unwrap(), (made.events, Vec::new()));

    let db = Connection::open(&paths.db).unwrap();
    let bad: i64 = db
        .query_row(
            "SELECT min(seq) FROM records WHERE topic = 'concern' AND seq > 50",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let after: i64 = db
        .query_row(
            "SELECT count(*) FROM records WHERE topic IN ('event','concern','handoff','git') AND seq > ?1",
            [bad],
            |r| r.get(0),
        )
        .unwrap();
    assert!(after > 8 * 1024, "{after} events after the bad one");
    db.execute(
        "UPDATE records SET body = '{\"seq\":' WHERE seq = ?1",
        [bad],
    )
    .unwrap();
    let report = verify(&store).unwrap();
    let found: Vec<String> = report.findings.iter().map(|f| f.to_string()).collect();
    assert_eq!(found, separate(&store));
    assert!(
        found[0].starts_with(&format!(
            "record {bad} (records): its contents do not match"
        )),
        "{found:?}"
    );
    let unreadable = format!("record {bad} (records): the event cannot be read");
    assert!(
        found.iter().any(|f| f.starts_with(&unreadable)),
        "{found:?}"
    );
    let mirror = format!("record {bad} (audit/concerns.jsonl line");
    assert!(found.iter().any(|f| f.starts_with(&mirror)), "{found:?}");
    assert!(
        report.events < 100,
        "the replay stopped at the bad event: {}",
        report.events
    );
    assert_eq!(report.records, bad as u64 - 1);
}

/// The generator's store reads as a year of work: it verifies (chain, mirrors, the state
/// replayed against its snapshot), opens to the same state, and holds the whole mix.
#[test]
fn a_generated_store_verifies_and_holds_a_year_of_work() {
    let dir = tempfile::tempdir().unwrap();
    let made = store_gen::generate(dir.path(), 3_000);
    assert!((3_000..3_100).contains(&made.events), "{made:?}");
    let ws = overlord::workspace::Workspace::discover(dir.path()).unwrap();
    let store = Store::open_without_repair(&ws.store_paths()).unwrap();
    let report = verify(&store).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    assert_eq!(report.events, made.events);
    assert_eq!(report.records, made.records);
    let core = Core::open(&ws, &Config::default()).unwrap();
    let state = core.state();
    assert_eq!(state.last_event_seq, made.events);
    assert!(state.plan.is_some() && state.agents.len() == 6);
    let resolved = state
        .concerns
        .values()
        .filter(|c| c.status == overlord::protocol::model::ConcernStatus::Resolved)
        .count();
    assert!(
        resolved > 20 && made.open_concerns > 0,
        "{resolved} {made:?}"
    );
    assert!(resolved as u64 > 5 * made.open_concerns);
    assert!(!state.qa_runs.is_empty() && !state.checkpoints.is_empty());
    assert!(state.approvals.values().any(|a| a.decision.is_some()));
    assert!(!state.handoffs.is_empty());
    let first = state.concerns.values().next().unwrap().timestamp.clone();
    let last = state.concerns.values().last().unwrap().timestamp.clone();
    assert!(
        first.starts_with("2025-12") && last.starts_with("2026-"),
        "{first} {last}"
    );
}

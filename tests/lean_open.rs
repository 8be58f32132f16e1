//! Snapshots in two parts and the lean open (issue 23): a `concern raise` with no owner
//! running reads the state without its concerns, raises with the right id, and whatever
//! snapshot it writes holds every concern — the state a full replay gives, restart after
//! restart; a tampered concerns part is caught by `audit verify`.

use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::model::ConcernStatus;
use overlord::store::verify::verify;
use overlord::store::Store;
use rusqlite::Connection;

use crate::common::*;

fn config(snapshot_every: u64) -> Config {
    let mut config = Config::default();
    config.core.snapshot_every = snapshot_every;
    config
}

/// A store with `n` concerns raised, the first acknowledged, the second resolved, and a
/// snapshot written after the last.
fn with_concerns(n: usize, snapshot_every: u64) -> Repo {
    let repo = Repo::new();
    let ws = repo.workspace();
    ws.init().unwrap();
    let mut core = Core::open(&ws, &config(snapshot_every)).unwrap();
    for i in 0..n {
        ok(
            &mut core,
            &format!("/raise --severity warning --category gap concern number {i}"),
        );
    }
    ok(&mut core, "/ack C-1");
    ok(&mut core, "/resolve C-2 done");
    core.snapshot_now().unwrap();
    repo
}

/// The state a replay of the whole trail gives (the snapshots removed first).
fn replayed(repo: &Repo) -> overlord::protocol::State {
    let db = Connection::open(repo.db()).unwrap();
    db.execute("DELETE FROM snapshots", []).unwrap();
    db.execute("DELETE FROM snapshot_parts", []).unwrap();
    repo.reopen().state().clone()
}

#[test]
fn a_lean_core_reads_no_concern_yet_raises_the_next_one() {
    let repo = with_concerns(12, 1000);
    let full = repo.reopen().state().clone();
    assert_eq!(full.concerns.len(), 12);

    let mut lean = Core::open_lean(&repo.workspace(), &config(1000)).unwrap();
    assert!(lean.is_lean());
    assert!(
        lean.state().concerns.is_empty(),
        "the concerns part was read"
    );
    assert_eq!(lean.state().counters, full.counters);
    let r = ok(&mut lean, "/raise --severity info --category gap one more");
    assert!(r.message.starts_with("C-13 raised"), "{}", r.message);
    drop(lean);

    let after = repo.reopen().state().clone();
    assert_eq!(after.concerns.len(), 13);
    assert_eq!(after.concerns.values().last().unwrap().summary, "one more");
    assert_eq!(after, replayed(&repo));
}

#[test]
fn a_snapshot_a_lean_core_writes_holds_every_concern() {
    // Every third record is due a snapshot: the lean core writes several, each after
    // reading the whole state.
    let repo = with_concerns(9, 3);
    let mut lean = Core::open_lean(&repo.workspace(), &config(3)).unwrap();
    for i in 0..5 {
        ok(
            &mut lean,
            &format!("/raise --severity info --category gap lean {i}"),
        );
    }
    assert!(
        !lean.is_lean(),
        "a due snapshot reads the whole state first"
    );
    assert_eq!(lean.state().concerns.len(), 14);
    let in_memory = lean.state().clone();
    drop(lean);

    let store = Store::open(&repo.workspace().store_paths()).unwrap();
    let snap = store.latest_snapshot().unwrap().expect("a snapshot");
    let from_snapshot = snap.decode().unwrap();
    assert_eq!(from_snapshot.concerns.len(), 14);
    assert_eq!(
        from_snapshot.concerns[&overlord::protocol::model::ConcernId(1)].status,
        ConcernStatus::Acknowledged
    );
    let report = verify(&store).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    drop(store);

    assert_eq!(repo.reopen().state(), &in_memory);
    assert_eq!(replayed(&repo), in_memory);
}

#[test]
fn a_tampered_concerns_part_is_caught() {
    let repo = with_concerns(4, 1000);
    let db = Connection::open(repo.db()).unwrap();
    let n = db
        .execute(
            "UPDATE snapshot_parts SET body = replace(body, 'concern number 3', 'nothing to see') WHERE part = 'concerns'",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(db);
    let store = Store::open_without_repair(&repo.workspace().store_paths()).unwrap();
    let report = verify(&store).unwrap();
    let f = report
        .findings
        .iter()
        .find(|f| f.place == "snapshot")
        .expect("a snapshot finding");
    assert!(f.problem.contains("disagrees with a replay"), "{f}");
}

#[test]
fn the_cli_raises_without_an_owner_and_status_shows_every_concern() {
    let repo = with_concerns(30, 1000);
    let out = repo.run(&[
        "concern",
        "raise",
        "--severity",
        "warning",
        "--category",
        "test_failure",
        "raised from the command line",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("C-31 raised"), "{said}");

    let out = repo.run(&["status", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    for needle in [
        "concern number 0",
        "concern number 29",
        "raised from the command line",
    ] {
        assert!(text.contains(needle), "status --json lacks {needle}");
    }
    assert_eq!(repo.reopen().state().concerns.len(), 31);
}

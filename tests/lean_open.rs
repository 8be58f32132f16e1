//! Snapshots in parts and the lean open (issue 23): a `concern raise` with no owner
//! running reads the state without its concerns, raises with the right id, and whatever
//! snapshot it writes holds every concern — the state a full replay gives, restart after
//! restart; a tampered concerns part is caught by `audit verify`. The checkpoints before the
//! newest 50 are a part of their own: `status --json` reads and shows the newest only, with
//! how many came before; `--all` and every other open read the whole timeline.

use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::model::{Checkpoint, CheckpointKind, ConcernStatus};
use overlord::protocol::EventKind;
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
    db.execute("DELETE FROM snapshot_timeline", []).unwrap();
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
    tampered_is_caught(
        &repo,
        "UPDATE snapshot_parts SET body = replace(body, 'concern number 3', 'nothing to see') WHERE part = 'concerns'",
    );
}

/// Runs `sql`, which changes one row of the newest snapshot, and expects `audit verify` to
/// find the snapshot disagreeing with its replay.
fn tampered_is_caught(repo: &Repo, sql: &str) {
    let db = Connection::open(repo.db()).unwrap();
    let n = db.execute(sql, []).unwrap();
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

/// A Save's checkpoint as the core records it (without git: the timeline is what is tested).
fn checkpoint(i: usize) -> EventKind {
    EventKind::CheckpointCreated {
        checkpoint: Checkpoint {
            name: format!("checkpoint/20261207-{i:03}"),
            kind: CheckpointKind::Save,
            commit: format!("{:040x}", i + 1),
            created_at: "2026-12-07T20:00:00Z".parse().unwrap(),
            qa_run: None,
            summary: format!("save number {i}"),
            restores: None,
            tag_object: None,
            previous: None,
            tasks: vec![format!("p0-t{i}")],
            audit_ids: Vec::new(),
            undoes: None,
        },
    }
}

/// A store with `before` checkpoints in its snapshot and `after` recorded since.
fn with_checkpoints(before: usize, after: usize) -> Repo {
    let repo = with_concerns(3, 1000);
    let mut core = Core::open(&repo.workspace(), &config(1000)).unwrap();
    for i in 0..before + after {
        core.emit("system", vec![checkpoint(i)]).unwrap();
        if i + 1 == before {
            core.snapshot_now().unwrap();
        }
    }
    repo
}

fn names(checkpoints: &[Checkpoint]) -> Vec<String> {
    checkpoints.iter().map(|c| c.name.clone()).collect()
}

#[test]
fn the_older_checkpoints_are_a_part_the_recent_open_leaves_unread() {
    let repo = with_checkpoints(120, 3);
    let full = repo.reopen().state().clone();
    assert_eq!(full.checkpoints.len(), 123);

    let (recent, older) = Core::open_recent(&repo.workspace(), &config(1000)).unwrap();
    assert!(recent.is_lean());
    // The snapshot's 50 newest and the 3 recorded after it.
    assert_eq!(older, 70);
    assert_eq!(
        names(&recent.state().checkpoints),
        names(&full.checkpoints[70..])
    );
    assert_eq!(recent.state().concerns, full.concerns);
    drop(recent);

    let store = Store::open(&repo.workspace().store_paths()).unwrap();
    let report = verify(&store).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    // A state of 0, 1, 50 and 51 checkpoints round-trips through the parts.
    for n in [0, 1, 50, 51] {
        let mut state = full.clone();
        state.checkpoints.truncate(n);
        let parts = overlord::store::snapshot::Snapshot::encode(&mut state);
        assert_eq!(state.checkpoints.len(), n, "encoding gives the state back");
        let snap = overlord::store::snapshot::Snapshot {
            seq: 1,
            version: overlord::store::verify::STATE_VERSION,
            state: parts.rest,
            concerns: Some(parts.concerns),
            older_checkpoints: Some(parts.older_checkpoints),
        };
        assert_eq!(snap.decode().unwrap(), state, "{n} checkpoints");
    }
    drop(store);
    assert_eq!(full, replayed(&repo), "restart equality with the parts");
}

#[test]
fn status_json_shows_the_newest_checkpoints_and_all_shows_every_one() {
    let repo = with_checkpoints(120, 3);
    let json = |args: &[&str]| -> serde_json::Value {
        let out = repo.run(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let live = json(&["status", "--json"]);
    let shown: Vec<&str> = live["state"]["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 50);
    assert_eq!(shown[0], "checkpoint/20261207-073");
    assert_eq!(shown[49], "checkpoint/20261207-122");
    assert_eq!(live["older_checkpoints"], 73);
    assert_eq!(live["report"]["last_checkpoint"], "checkpoint/20261207-122");
    assert_eq!(live["state"]["concerns"].as_object().unwrap().len(), 3);

    let all = json(&["status", "--json", "--all"]);
    assert_eq!(all["state"]["checkpoints"].as_array().unwrap().len(), 123);
    assert_eq!(all["older_checkpoints"], 0);
    assert_eq!(all["state"]["checkpoints"][0]["summary"], "save number 0");
}

#[test]
fn a_tampered_older_checkpoints_part_is_caught() {
    let repo = with_checkpoints(80, 0);
    tampered_is_caught(
        &repo,
        "UPDATE snapshot_timeline SET body = replace(body, 'save number 7\"', 'save number 8\"') WHERE record_seq = (SELECT max(record_seq) FROM snapshots)",
    );
}

#[test]
fn a_running_owner_sends_status_json_the_newest_checkpoints() {
    let repo = with_checkpoints(60, 5);
    let _owner = crate::concurrency::serve(&repo);
    let socket = repo.path().join(".overlord/overlord.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut client = loop {
        if let Some(c) = overlord::core::ipc::Client::connect(&socket) {
            break c;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the owner never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (state, older) = client.recent_snapshot().unwrap();
    assert_eq!(older, 15);
    assert_eq!(
        names(&state.checkpoints),
        (15..65)
            .map(|i| format!("checkpoint/20261207-{i:03}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(client.snapshot().unwrap().checkpoints.len(), 65);

    let out = repo.run(&["status", "--json"]);
    assert!(out.status.success());
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(live["older_checkpoints"], 15);
    assert_eq!(live["state"]["checkpoints"].as_array().unwrap().len(), 50);
}

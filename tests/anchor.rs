//! The audit trail's anchors, with the real binary on real SQLite files: a store emptied,
//! truncated, with its tail deleted or replaced by another chain refuses every write and
//! hands out no id; a crash between the commit and the head file is not a loss; a bad head
//! file is a clear error; putting the store back from a copy is the way out. `status` and
//! `audit verify` work on a read-only `.overlord/`.

use std::path::Path;
use std::process::Output;

use rusqlite::Connection;
use serde_json::Value;

use crate::common::*;

fn init(repo: &Repo) {
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn raise(repo: &Repo, text: &str) -> Output {
    repo.run(&[
        "concern",
        "raise",
        "--from",
        "implementer",
        "--severity",
        "warning",
        "--category",
        "gap",
        text,
    ])
}

fn raised(repo: &Repo, text: &str) -> String {
    let o = raise(repo, text);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

fn head(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT coalesce(max(seq), 0) FROM records", [], |r| {
            r.get(0)
        })
        .unwrap()
}

fn lost(from: i64, to: i64) -> String {
    format!("the audit trail has lost records {from}..{to} — run `overlord-tui audit verify`")
}

/// `truncate -s 0 .overlord/overlord.db`.
fn empty(db: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(db)
        .unwrap()
        .set_len(0)
        .unwrap();
}

fn assert_refused(o: &Output, message: &str) {
    assert!(!o.status.success(), "a write went through: {}", stdout(o));
    assert!(stderr(o).contains(message), "{}", stderr(o));
    assert!(!stdout(o).contains("raised"), "{}", stdout(o));
}

#[test]
fn an_emptied_store_refuses_writes_and_hands_out_no_id() {
    let repo = Repo::new();
    init(&repo);
    for i in 1..=3 {
        assert!(raised(&repo, &format!("concern {i}")).contains(&format!("C-{i} raised")));
    }
    let last = head(&repo.db());
    empty(&repo.db());

    let o = raise(&repo, "after the loss");
    assert_refused(&o, &lost(1, last));
    assert_eq!(head(&repo.db()), 0, "something was written");
    let o = repo.run(&["cmd", "/raise --severity warning --category gap again"]);
    assert_refused(&o, &lost(1, last));
    assert_eq!(head(&repo.db()), 0);

    // `status` shows it first and fails; it writes nothing either.
    let o = repo.run(&["status"]);
    assert!(!o.status.success());
    assert!(
        stdout(&o).starts_with(&format!("WARNING: {}", lost(1, last))),
        "{}",
        stdout(&o)
    );
    let o = repo.run(&["status", "--json"]);
    assert!(!o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["store_warning"], lost(1, last));
    assert_eq!(head(&repo.db()), 0);

    // `audit verify` names the anchor and the gap, and says what to do.
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("the audit trail has lost records 1..{last}: .overlord/audit-head records that record {last} was committed, but the store ends at record 0")),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("what to do"), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("anchor: .overlord/audit-head says record {last}")),
        "{}",
        stdout(&o)
    );
    let o = repo.run(&["audit", "verify", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["writes_refused"], lost(1, last));
    assert_eq!(v["anchors"][0]["seq"], last);
}

#[test]
fn a_deleted_tail_refuses_writes_naming_the_lost_range() {
    let repo = Repo::new();
    init(&repo);
    for i in 1..=3 {
        raised(&repo, &format!("concern {i}"));
    }
    let backup = repo.home.path().join("overlord.db.backup");
    std::fs::copy(repo.db(), &backup).unwrap();
    raised(&repo, "concern 4");
    let last = head(&repo.db());
    // As someone with the sqlite3 tool would: the last two records go.
    let cut = last - 2;
    Connection::open(repo.db())
        .unwrap()
        .execute("DELETE FROM records WHERE seq > ?1", [cut])
        .unwrap();

    let o = raise(&repo, "after the loss");
    assert_refused(&o, &lost(cut + 1, last));
    assert_eq!(head(&repo.db()), cut);

    // An older copy does not reach the anchor either.
    std::fs::copy(&backup, repo.db()).unwrap();
    let o = raise(&repo, "on the old copy");
    assert_refused(&o, &lost(head(&backup) + 1, last));
}

#[test]
fn a_store_put_back_from_a_copy_writes_again_and_ids_go_on() {
    let repo = Repo::new();
    init(&repo);
    for i in 1..=2 {
        raised(&repo, &format!("concern {i}"));
    }
    let copy = repo.home.path().join("copy.db");
    std::fs::copy(repo.db(), &copy).unwrap();
    empty(&repo.db());
    assert_refused(
        &raise(&repo, "refused"),
        "the audit trail has lost records 1..",
    );
    std::fs::copy(&copy, repo.db()).unwrap();
    assert!(raised(&repo, "back again").contains("C-3 raised"));
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_store_one_write_ahead_of_its_head_file_is_a_crash_not_a_loss() {
    let repo = Repo::new();
    init(&repo);
    raised(&repo, "concern 1");
    let head_file = repo.path().join(".overlord/audit-head");
    let old = std::fs::read_to_string(&head_file).unwrap();
    raised(&repo, "concern 2");
    // The process died between the commit and the head file's rename.
    std::fs::write(&head_file, &old).unwrap();
    assert!(raised(&repo, "concern 3").contains("C-3 raised"));
    let now = overlord::store::anchor::read(&head_file).unwrap().unwrap();
    assert_eq!(now.seq as i64, head(&repo.db()));
    // The head file lost while the store is intact: rewritten by the next write.
    std::fs::remove_file(&head_file).unwrap();
    assert!(raised(&repo, "concern 4").contains("C-4 raised"));
    assert!(head_file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&head_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// The head file written in place, in two slots: a store written by an earlier version (the
/// one-head layout) keeps working and is converted by its next write; a torn or garbled slot
/// reads the other; both slots bad is a clear refusal, never a panic.
#[test]
fn the_head_file_in_two_slots_survives_a_torn_slot_and_converts_the_old_layout() {
    let repo = Repo::new();
    init(&repo);
    raised(&repo, "concern 1");
    let head_file = repo.path().join(".overlord/audit-head");
    let db_head = |repo: &Repo| head(&repo.db()) as u64;
    let now = overlord::store::anchor::read(&head_file).unwrap().unwrap();
    assert_eq!(now.seq, db_head(&repo));
    // The layout of earlier versions, as they left it.
    let old = format!(
        "overlord-audit-head 1\nseq {}\nhash {}\n",
        now.seq,
        hex::encode(now.hash)
    );
    std::fs::write(&head_file, &old).unwrap();
    assert!(raised(&repo, "concern 2").contains("C-2 raised"));
    let text = std::fs::read_to_string(&head_file).unwrap();
    assert!(text.starts_with("overlord-audit-head 2"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains(&format!("seq {:020} hash ", db_head(&repo))),
        "{text}"
    );
    raised(&repo, "concern 3");
    let text = std::fs::read_to_string(&head_file).unwrap();
    let newest = format!("seq {:020} ", db_head(&repo));
    // Garble the newest slot (a write torn by a crash): the older slot is read, and the
    // store, ahead of it, is written as usual; the next write overwrites the garbled slot.
    let garbled: String = text
        .lines()
        .map(|l| match l.starts_with(&newest) {
            true => l.replacen(" hash ", " hash 0", 1)[..l.len()].to_string(),
            false => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(garbled, text);
    std::fs::write(&head_file, &garbled).unwrap();
    assert!(raised(&repo, "concern 4").contains("C-4 raised"));
    let now = overlord::store::anchor::read(&head_file).unwrap().unwrap();
    assert_eq!(now.seq, db_head(&repo));
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Both slots garbled: every write is refused, with the reason for each slot.
    let text = std::fs::read_to_string(&head_file).unwrap();
    let both: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l}\n"),
            _ => format!(
                "{}\n",
                l.replacen(" check ", " check f", 1)[..l.len()].to_owned()
            ),
        })
        .collect();
    std::fs::write(&head_file, &both).unwrap();
    let o = raise(&repo, "refused");
    assert_refused(&o, "neither of its two slots is valid");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("audit-head"), "{}", stderr(&o));
}

#[test]
fn another_chain_in_place_of_the_store_is_refused() {
    let repo = Repo::new();
    init(&repo);
    raised(&repo, "mine");
    // Another repository's longer store, copied over this one.
    let other = Repo::new();
    init(&other);
    for i in 1..=3 {
        raised(&other, &format!("theirs {i}"));
    }
    let anchored = head(&repo.db());
    std::fs::copy(other.db(), repo.db()).unwrap();
    let o = raise(&repo, "on the foreign chain");
    assert_refused(
        &o,
        &format!("the audit trail has lost record {anchored}: the store holds a different record {anchored}"),
    );
}

#[test]
fn a_bad_head_file_is_a_clear_refusal_never_a_panic() {
    let repo = Repo::new();
    init(&repo);
    raised(&repo, "concern 1");
    let head_file = repo.path().join(".overlord/audit-head");
    std::fs::write(&head_file, "overlord-audit-head 1\nseq banana\n").unwrap();
    let o = raise(&repo, "refused");
    assert_refused(&o, "the audit head file");
    assert!(
        stderr(&o).contains("'banana' is not a record number"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("audit-head"), "{}", stderr(&o));
}

/// Runs `f` with `.overlord/` read-only for the binary: permission bits for an ordinary
/// user; as root (which ignores them) the binary runs as `nobody` through `setpriv`.
fn read_only_run(repo: &Repo, args: &[&str]) -> Option<Output> {
    let dir = repo.path().join(".overlord");
    if !rustix::process::geteuid().is_root() {
        chmod_tree(&dir, false);
        let o = repo.run(args);
        chmod_tree(&dir, true);
        return Some(o);
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(setpriv) = setpriv else {
        eprintln!("skipped: running as root without setpriv, so nothing can make .overlord/ read-only for the binary");
        return None;
    };
    // `nobody` owns the repository (git refuses a repository another user owns) but may not
    // write `.overlord/`.
    for p in [repo.path(), repo.home.path()] {
        let o = std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    chmod_tree(&dir, false);
    let mut cmd = std::process::Command::new(setpriv);
    cmd.args([
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
        env!("CARGO_BIN_EXE_overlord-tui"),
    ])
    .args(args)
    .current_dir(repo.path());
    sandbox(&mut cmd, repo.home.path());
    let o = cmd.output().unwrap();
    chmod_tree(&dir, true);
    Some(o)
}

fn chmod_tree(dir: &Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |m: u32| {
        if writable {
            m | 0o200
        } else {
            m & !0o222
        }
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() || meta.file_type().is_socket_like() {
            continue;
        }
        if meta.is_dir() {
            chmod_tree(&p, writable);
        }
        let m = meta.permissions().mode();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode(m))).unwrap();
    }
    let m = std::fs::metadata(dir).unwrap().permissions().mode();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode(m))).unwrap();
}

trait SocketLike {
    fn is_socket_like(&self) -> bool;
}

impl SocketLike for std::fs::FileType {
    fn is_socket_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_socket() || self.is_fifo()
    }
}

#[test]
fn status_and_audit_verify_work_on_a_read_only_overlord_dir() {
    let repo = Repo::new();
    init(&repo);
    raised(&repo, "concern 1");
    let before = std::fs::read(repo.db()).unwrap();

    let Some(o) = read_only_run(&repo, &["status"]) else {
        return;
    };
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("read-only"), "{}", stdout(&o));
    assert!(stdout(&o).contains("Health:"), "{}", stdout(&o));

    let o = read_only_run(&repo, &["audit", "verify"]).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("audit trail OK"), "{}", stdout(&o));

    let o = read_only_run(&repo, &["status", "--json"]).unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"]["concerns"]["C-1"]["summary"], "concern 1");

    // It really is read-only: a write is refused, and the store is as it was.
    let o = read_only_run(
        &repo,
        &["cmd", "/raise --severity warning --category gap x"],
    )
    .unwrap();
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    assert_eq!(std::fs::read(repo.db()).unwrap(), before);
}

#[test]
fn an_owner_does_not_start_on_a_store_that_lost_records() {
    let repo = Repo::new();
    init(&repo);
    raised(&repo, "concern 1");
    let last = head(&repo.db());
    empty(&repo.db());
    // `serve` would run until stopped; refused, it ends at once.
    let o = repo.run(&["serve"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stderr(&o).contains(&lost(1, last)), "{}", stderr(&o));
    assert!(!repo.path().join(".overlord/overlord.sock").exists());
}

/// With no copy to put back, a human accepts the loss: writes resume, the ids go on after
/// every one handed out, the trail verifies, and a later loss is caught again.
#[test]
fn accepting_a_loss_resumes_writes_without_reusing_an_id() {
    let repo = Repo::new();
    init(&repo);
    for i in 1..=3 {
        raised(&repo, &format!("concern {i}"));
    }
    let last = head(&repo.db());
    empty(&repo.db());

    // Not by an agent, and not without confirming.
    let o = repo.run_env(
        &["audit", "accept-loss", "--yes"],
        &[("OVERLORD_AGENT", "impl-1")],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("only a human"), "{}", stderr(&o));
    let o = repo.run(&["audit", "accept-loss"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(&lost(1, last)), "{}", stderr(&o));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(head(&repo.db()), 0);

    let o = repo.run(&["audit", "accept-loss", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("accepted the loss of records 1..{last}")),
        "{}",
        stdout(&o)
    );
    // C-1..C-3 were handed out before the loss; the next id is past every record number seen.
    let out = raised(&repo, "after the loss");
    assert!(out.contains(&format!("C-{} raised", last + 1)), "{out}");
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let aside = repo.path().join(format!(".overlord/audit.lost-1-{last}"));
    assert!(aside.join("concerns.jsonl").exists());
    let o = repo.run(&["audit", "accept-loss", "--yes"]);
    assert!(stdout(&o).contains("nothing to accept"), "{}", stdout(&o));

    // The anchors keep working after it.
    let now = head(&repo.db());
    empty(&repo.db());
    assert_refused(&raise(&repo, "again"), &lost(1, now));
}

#[test]
fn accepting_a_deleted_tail_keeps_the_rest_and_moves_on() {
    let repo = Repo::new();
    init(&repo);
    for i in 1..=4 {
        raised(&repo, &format!("concern {i}"));
    }
    let last = head(&repo.db());
    let cut = last - 3; // the last raise (command, event, response) goes
    Connection::open(repo.db())
        .unwrap()
        .execute("DELETE FROM records WHERE seq > ?1", [cut])
        .unwrap();
    let o = repo.run(&["audit", "accept-loss", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = raised(&repo, "after the loss");
    assert!(out.contains(&format!("C-{} raised", last + 1)), "{out}");
    let o = repo.run(&["status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"]["concerns"]["C-3"]["summary"], "concern 3");
    assert!(v["state"]["concerns"]["C-4"].is_null());
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
}

/// A commit of nothing on an empty store anchors nothing (the head file would name record 0).
#[test]
fn an_empty_append_on_an_empty_store_leaves_no_head_file() {
    let repo = Repo::new();
    let ws = repo.workspace();
    ws.init().unwrap();
    append_events(&ws, &[]);
    assert!(!repo.path().join(".overlord/audit-head").exists());
    raised(&repo, "concern 1");
    assert!(repo.path().join(".overlord/audit-head").exists());
}

/// Two processes at once are not a loss: a store opened before another process committed
/// (and anchored) records does not take the anchor for records it lost — what made an owner
/// starting beside a `cmd` refuse to start ("lost records 1..2").
#[test]
fn a_store_opened_before_another_process_wrote_sees_no_loss() {
    let repo = Repo::new();
    init(&repo);
    let early = overlord::store::Store::open(&repo.workspace().store_paths()).unwrap();
    raised(
        &repo,
        "written by another process after this one opened the store",
    );
    assert!(
        early.write_blocker().is_none(),
        "{:?}",
        early.write_blocker()
    );
    // A real loss is still one.
    let db = repo.path().join(".overlord/overlord.db");
    let late = overlord::store::Store::open(&repo.workspace().store_paths()).unwrap();
    drop(late);
    Connection::open(&db)
        .unwrap()
        .execute(
            "DELETE FROM records WHERE seq = (SELECT max(seq) FROM records)",
            [],
        )
        .unwrap();
    let top = head(&db);
    assert_eq!(
        early.write_blocker().map(|e| e.to_string()),
        Some(lost(top + 1, top + 1))
    );
}

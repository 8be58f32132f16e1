//! Protected refs defended, never absorbed (issue 19 §4): `main` moved or rewound and
//! `refs/notes/overlord` rewritten by hand while a real owner runs, on real repositories;
//! `audit verify --git` (the real binary) failing until the human's `/adopt main` or
//! `/restore main`, and the bad inputs.

use std::time::{Duration, Instant};

use overlord::core::{Core, Handle};
use overlord::protocol::model::{ConcernStatus, Severity};
use overlord::protocol::{Command, State};

use super::Fx;
use crate::common::*;

/// How soon the owner must notice (the promise).
const NOTICE: Duration = Duration::from_secs(5);

/// A repository with one Save done (main at Overlord's first checkpoint).
fn saved() -> Fx {
    let mut fx = Fx::new(&["t1"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    fx
}

/// A running owner polling every 20 ms.
fn owner(fx: &Fx) -> (Handle, std::thread::JoinHandle<()>) {
    let core = Core::open(&fx.repo.workspace(), &fx.config).unwrap();
    Handle::spawn(core, Duration::from_millis(20)).unwrap()
}

/// Waits (at most `NOTICE`) for an open `protected_ref` concern whose summary has `text`.
fn noticed(handle: &Handle, text: &str) -> State {
    let started = Instant::now();
    let state = wait_for(
        &format!("a protected_ref concern about {text}"),
        NOTICE,
        || {
            let s = handle.snapshot_blocking().unwrap();
            let raised = s
                .open_concerns()
                .any(|c| c.category == "protected_ref" && c.summary.contains(text));
            raised.then_some(s)
        },
    );
    assert!(started.elapsed() < NOTICE);
    state
}

/// A commit on top of `parent` with the same tree, made without touching any ref.
fn outside_commit(fx: &Fx, parent: &str, message: &str) -> String {
    fx.git(&[
        "commit-tree",
        &format!("{parent}^{{tree}}"),
        "-p",
        parent,
        "-m",
        message,
    ])
    .trim()
    .to_string()
}

fn short(id: &str) -> &str {
    &id[..10]
}

fn verify_git(fx: &Fx) -> std::process::Output {
    fx.cli(&["audit", "verify", "--git"])
}

fn outside_branches(fx: &Fx) -> Vec<String> {
    fx.git(&[
        "for-each-ref",
        "--format=%(refname:short)",
        "refs/heads/outside/",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn main_moved_by_hand_is_a_critical_concern_refused_until_adopted() {
    let mut fx = saved();
    let overlords = fx.main();
    let (handle, join) = owner(&fx);
    let outside = outside_commit(&fx, &overlords, "pushed past Overlord");
    fx.git(&["update-ref", "refs/heads/main", &outside]);
    let summary = format!(
        "main moved outside Overlord from {} to {}",
        short(&overlords),
        short(&outside)
    );
    let state = noticed(&handle, &summary);
    // Not absorbed: Overlord's record stays; the kill switch is on (default policy).
    assert_eq!(state.main_head.as_deref(), Some(overlords.as_str()));
    assert!(state.dispatch_halted, "the kill switch trips");
    let c = state
        .open_concerns()
        .find(|c| c.category == "protected_ref")
        .unwrap();
    assert_eq!(c.severity, Severity::Critical);
    let details = c.details.clone().unwrap();
    assert!(details.contains("/adopt main") && details.contains("pushed past Overlord"));
    // Later polls raise nothing more for the same move.
    let concerns = state.concerns.len();
    handle.stop();
    join.join().unwrap();
    let (handle, join) = owner(&fx);
    let again = handle.snapshot_blocking().unwrap();
    handle.stop();
    join.join().unwrap();
    assert_eq!(again.concerns.len(), concerns, "reported once");

    // verify --git fails with the decision to take.
    let o = verify_git(&fx);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&summary) && err.contains("`/adopt main`") && err.contains("`/restore main`"),
        "{err}"
    );
    // A Save would build on it: refused with the same words, nothing changed.
    fx.reopen();
    let r = fx.save();
    assert!(!r.ok);
    assert!(r.message.contains(&summary), "{}", r.message);
    assert!(r.message.contains("1 commit(s) added"), "{}", r.message);
    assert_eq!(fx.main(), outside);

    // Agents may not decide.
    let e = rejected_as(&mut fx.core, agent("impl-1"), "/adopt main");
    assert!(e.contains("only a human may take it"), "{e}");

    // The human adopts: main stays, the record follows, the concern is resolved.
    let o = fx.cli(&["cmd", "/adopt main"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("main adopted at"), "{}", stdout(&o));
    assert_eq!(fx.main(), outside);
    let o = verify_git(&fx);
    assert!(o.status.success(), "{}", stderr(&o));
    fx.reopen();
    let state = fx.core.state().clone();
    assert_eq!(state.main_head.as_deref(), Some(outside.as_str()));
    assert!(state
        .concerns
        .values()
        .filter(|c| c.category == "protected_ref")
        .all(|c| c.status == ConcernStatus::Resolved));
    let integration = state.git.clone().unwrap().integration_branch();
    assert_eq!(fx.rev(&integration), outside, "integration rebuilt on it");
    // Nothing left to adopt.
    let e = rejected(&mut fx.core, "/adopt main");
    assert!(
        e.contains("main is where Overlord left it") && e.contains("nothing to adopt"),
        "{e}"
    );
    // The next Save builds on the adopted main.
    let r = fx.core.execute(human(), Command::Save);
    assert!(!r.message.contains("outside Overlord"), "{}", r.message);
}

#[test]
fn main_rewound_or_moved_by_hand_is_restored_with_the_outside_commits_kept() {
    let mut fx = saved();
    let overlords = fx.main();
    let (handle, join) = owner(&fx);
    // Rewound to an ancestor.
    let parent = fx.rev("main~1");
    fx.git(&["update-ref", "refs/heads/main", &parent]);
    noticed(&handle, &format!("to {}", short(&parent)));
    let err = stderr(&verify_git(&fx));
    assert!(
        err.contains("(rewound)") && err.contains("/restore main"),
        "{err}"
    );
    let o = fx.cli(&["cmd", "/restore main"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to keep"), "{}", stdout(&o));
    assert_eq!(fx.main(), overlords);
    assert!(outside_branches(&fx).is_empty());
    assert!(verify_git(&fx).status.success());

    // Moved forward: the outside commit is kept on outside/<day>-1, then -2.
    let mut kept = Vec::new();
    for n in 1..=2 {
        let outside = outside_commit(&fx, &overlords, &format!("outside {n}"));
        fx.git(&["update-ref", "refs/heads/main", &outside]);
        noticed(&handle, &format!("to {}", short(&outside)));
        assert!(!verify_git(&fx).status.success());
        let o = fx.cli(&["cmd", "/restore main"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(fx.main(), overlords, "main put back");
        let branches = outside_branches(&fx);
        assert_eq!(branches.len(), n);
        let new = branches
            .iter()
            .find(|b| !kept.contains(*b))
            .unwrap()
            .clone();
        let day = new
            .strip_prefix("outside/")
            .and_then(|r| r.strip_suffix(&format!("-{n}")))
            .unwrap_or_else(|| panic!("{new}"));
        assert!(
            day.len() == 8 && day.chars().all(|c| c.is_ascii_digit()),
            "{new}"
        );
        assert!(stdout(&o).contains(&new), "{}", stdout(&o));
        assert_eq!(fx.rev(&new), outside, "the outside commit kept");
        let o = verify_git(&fx);
        assert!(o.status.success(), "{}", stderr(&o));
        kept.push(new);
    }
    handle.stop();
    join.join().unwrap();
    fx.reopen();
    let e = rejected(&mut fx.core, "/restore main");
    assert!(e.contains("nothing to restore"), "{e}");
    assert!(fx
        .core
        .state()
        .concerns
        .values()
        .filter(|c| c.category == "protected_ref")
        .all(|c| c.status == ConcernStatus::Resolved));
}

#[test]
fn a_rewritten_notes_ref_is_detected_and_put_back() {
    let fx = saved();
    let notes = fx.rev("refs/notes/overlord");
    let main = fx.main();
    fx.git(&[
        "notes",
        "--ref=overlord",
        "add",
        "-f",
        "-m",
        "forged",
        &main,
    ]);
    let forged = fx.rev("refs/notes/overlord");
    assert_ne!(forged, notes);
    // No owner running: verify --git sees it.
    let o = verify_git(&fx);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("notes_rewritten refs/notes/overlord"),
        "{}",
        stderr(&o)
    );
    // An owner puts it back.
    let (handle, join) = owner(&fx);
    let state = noticed(&handle, "refs/notes/overlord rewritten outside Overlord");
    handle.stop();
    join.join().unwrap();
    assert_eq!(fx.rev("refs/notes/overlord"), notes);
    assert!(state.dispatch_halted);
    let o = verify_git(&fx);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn bad_decisions_get_clear_refusals() {
    let fx = saved();
    let o = fx.cli(&["cmd", "/adopt main"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("main is where Overlord left it"),
        "{}",
        stderr(&o)
    );
    let o = fx.cli(&["cmd", "/adopt foo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("write `/adopt main`"), "{}", stderr(&o));
    // Before any Save there is nothing recorded to defend.
    let fresh = Fx::new(&["t1"]);
    let o = fresh.cli(&["cmd", "/restore main"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no Save so far"), "{}", stderr(&o));
}

#[test]
fn a_moved_checkpoint_tag_is_put_back() {
    let fx = saved();
    let cp = fx.core.state().checkpoints[0].clone();
    let (handle, join) = owner(&fx);
    let parent = fx.rev("main~1");
    fx.git(&["tag", "-f", "-a", "-m", "moved", &cp.name, &parent]);
    let state = noticed(&handle, &cp.name);
    handle.stop();
    join.join().unwrap();
    let c = state
        .open_concerns()
        .find(|c| c.category == "protected_ref")
        .unwrap();
    assert!(c.summary.contains("deleted or moved"), "{}", c.summary);
    let tag_ref = format!("refs/tags/{}", cp.name);
    assert_eq!(fx.rev(&tag_ref), cp.tag_object.clone().unwrap());
    assert_eq!(fx.rev(&format!("{tag_ref}^{{commit}}")), cp.commit);
    let o = verify_git(&fx);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Without a running owner, the check before every operation reports the move (the concern,
/// the kill switch) and refuses the Save and the rollback of main; a rollback on a new branch,
/// which leaves main alone, still works.
#[test]
fn without_an_owner_the_operation_itself_reports_the_move_and_refuses() {
    let mut fx = saved();
    let overlords = fx.main();
    let cp = fx.core.state().checkpoints[0].name.clone();
    let parent = fx.rev("main~1");
    fx.git(&["update-ref", "refs/heads/main", &parent]);
    let o = fx.cli(&["save"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "main moved outside Overlord from {} to {} (rewound)",
            short(&overlords),
            short(&parent)
        )) && err.contains("nothing was changed"),
        "{err}"
    );
    fx.reopen();
    let state = fx.core.state().clone();
    assert!(state.dispatch_halted);
    assert_eq!(
        state
            .open_concerns()
            .filter(|c| c.category == "protected_ref")
            .count(),
        1
    );
    let e = rejected(&mut fx.core, &format!("/rollback {cp}"));
    assert!(e.contains("/restore main"), "{e}");
    assert_eq!(fx.main(), parent, "nothing moved");
    let r = run(&mut fx.core, &format!("/rollback {cp} --branch kept"));
    assert!(r.ok, "{}", r.message);
    assert_eq!(
        state.main_head.as_deref(),
        Some(overlords.as_str()),
        "not absorbed"
    );
}

#[test]
fn main_deleted_by_hand_is_reported_and_restore_recreates_it() {
    let fx = saved();
    let overlords = fx.main();
    let (handle, join) = owner(&fx);
    fx.git(&["update-ref", "-d", "refs/heads/main"]);
    let state = noticed(
        &handle,
        &format!(
            "main deleted outside Overlord (Overlord left it at {})",
            short(&overlords)
        ),
    );
    handle.stop();
    join.join().unwrap();
    assert!(state.dispatch_halted);
    let err = stderr(&verify_git(&fx));
    assert!(
        err.contains("missing_main") && err.contains("/restore main"),
        "{err}"
    );
    let o = fx.cli(&["cmd", "/adopt main"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nothing to adopt"), "{}", stderr(&o));
    let o = fx.cli(&["cmd", "/restore main"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fx.main(), overlords);
    let o = verify_git(&fx);
    assert!(o.status.success(), "{}", stderr(&o));
}

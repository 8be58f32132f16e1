//! The demo's printed result: the timeline, the audit summary, the audit verification
//! against git and what would have been posted to Discord; `Ok` only for a whole cycle.

use crate::cli::audit::{print_verification, verify_git};
use crate::cli::output::{fail, Outcome};
use crate::protocol::model::CheckpointKind;
use crate::protocol::State;
use crate::store::{verify, Store};
use crate::workspace::Workspace;

/// The printed result; `Ok` only when the cycle completed, the timeline has its two Saves and
/// its rollback, and the audit trail verifies against git.
pub(super) fn report(
    ws: &Workspace,
    owned: Outcome,
    cycle: Option<Result<(), String>>,
    discord: &[String],
) -> Outcome {
    let store = Store::open_without_repair(&ws.store_paths()).map_err(fail)?;
    let mut state = State::default();
    for (seq, body) in store.event_bodies_after(0).map_err(fail)? {
        let event: crate::protocol::Event = serde_json::from_str(&body)
            .map_err(|e| fail(format!("audit record {seq} is not an event: {e}")))?;
        state.apply(&event);
    }
    println!("== Timeline");
    for c in &state.checkpoints {
        let kind = match c.kind {
            CheckpointKind::Save => "save",
            CheckpointKind::Rollback => "rollback",
            CheckpointKind::Promotion => "promotion",
        };
        let restores = c
            .restores
            .as_ref()
            .map(|r| format!(" (restores {r})"))
            .unwrap_or_default();
        println!(
            "{}  {kind:<8}  {}  {}{restores}",
            c.name,
            &c.commit[..c.commit.len().min(10)],
            c.summary.lines().next().unwrap_or("")
        );
    }
    println!("\n== Audit summary");
    let summary = crate::store::summary::summarize(&store).map_err(fail)?;
    print!("{}", summary.render_text());
    println!("\n== audit verify --git");
    let verified = verify::verify(&store).map_err(fail)?;
    let git_report = verify_git(ws, &store)?;
    let ok = print_verification(&verified, Some(&git_report));
    println!("\n== Discord (what would have been posted)");
    if discord.is_empty() {
        println!("(nothing)");
    }
    for line in discord {
        println!("discord: {line}");
    }
    owned?;
    let saves = count(&state, CheckpointKind::Save);
    let rollbacks = count(&state, CheckpointKind::Rollback);
    match cycle {
        Some(Ok(())) if saves == 2 && rollbacks == 1 && ok => {
            println!("\ndemo: the whole cycle completed and the audit trail verifies");
            Ok(())
        }
        Some(Ok(())) if !ok => Err(fail("the audit trail does not verify (see above)")),
        Some(Ok(())) => Err(fail(format!(
            "the timeline has {saves} Save(s) and {rollbacks} rollback(s), not 2 and 1"
        ))),
        Some(Err(e)) => Err(fail(format!("the demo did not complete: {e}"))),
        None => Err(fail("the demo stopped before the cycle completed")),
    }
}

fn count(state: &State, kind: CheckpointKind) -> usize {
    state.checkpoints.iter().filter(|c| c.kind == kind).count()
}

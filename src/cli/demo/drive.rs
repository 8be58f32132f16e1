//! The demo's driver: plays the human through the whole cycle, stage by stage — the plan, the
//! design spec, the concern, the failing test and its fix, two Saves, the rollback and the
//! daily digest — each stage narrated, on screen at least the pace, and waiting for the swarm
//! with a deadline.

use std::time::Duration;

use super::human::STAGE_SECS;
use super::human::{command, find_task, operation, pending, snapshot, submit, task_is, wait};
use super::say::Say;
use crate::core::Handle;
use crate::protocol::model::{ApprovalKind, ConcernStatus, Role, TaskStatus};
use crate::protocol::{Command, State};
use crate::workspace::Workspace;

/// The file the phase-2 script waits for: written once the first checkpoint is saved, so that
/// each Save integrates its own change.
const PHASE_2_SIGNAL: &str = "demo-phase-2";

/// Plays the human, stage by stage (eight narrated stages, each on screen at least the
/// pace).
pub(super) async fn drive(
    handle: &Handle,
    ws: &Workspace,
    auto: bool,
    say: &Say,
) -> Result<(), String> {
    approve_plan(handle, ws, say).await?;
    wait_for_the_spec(handle, say).await?;
    approve_design(handle, auto, say).await?;
    settle_concern(handle, say).await?;
    fix_and_approve_tests(handle, say).await?;
    say.stage(
        6,
        "Save: phase 1 merges into the integration branch, the QA gates run",
    )
    .await;
    let first = operation(handle, Command::Save).await?;
    say.line(&format!("checkpoint {first} saved"));
    second_change(handle, ws, say).await?;
    roll_back(handle, &first, say).await?;
    write_digest(ws, say).await
}

/// Approves `approval` as the demo, unless someone (the human in the console) decided it.
async fn approve_if_pending(
    handle: &Handle,
    kind: ApprovalKind,
    approval: &str,
    note: &str,
) -> Result<(), String> {
    if pending(&snapshot(handle).await?, kind).as_deref() == Some(approval) {
        command(handle, &format!("/approve {approval} {note}")).await?;
    }
    Ok(())
}

/// The two-phase plan imported and approved.
async fn approve_plan(handle: &Handle, ws: &Workspace, say: &Say) -> Result<(), String> {
    say.stage(1, "the two-phase plan is imported; the demo approves it")
        .await;
    let plan = ws.dir.join("demo-plan.json");
    say.line("importing the two-phase plan");
    submit(
        handle,
        Command::ImportPlan {
            path: plan.display().to_string(),
        },
    )
    .await?;
    let a = wait(handle, "the plan's approval request", STAGE_SECS, |s| {
        pending(s, ApprovalKind::Plan)
    })
    .await?;
    say.hold(Duration::ZERO).await;
    approve_if_pending(handle, ApprovalKind::Plan, &a, "the demo's plan").await
}

/// The PM's initiation and the designer's spec, up to the spec's approval request.
async fn wait_for_the_spec(handle: &Handle, say: &Say) -> Result<(), String> {
    say.stage(
        2,
        "the PM sets the project up; the designer writes the design spec",
    )
    .await;
    wait(handle, "the PM's project initiation", STAGE_SECS, |s| {
        s.handoffs
            .iter()
            .any(|h| h.purpose.starts_with("project initiation"))
            .then_some(())
    })
    .await?;
    say.line("PM: project initiated, hand-off to the designer");
    Ok(())
}

/// The design spec approved: after 3 s (or the pace) with --auto, else by the human in the
/// console.
async fn approve_design(handle: &Handle, auto: bool, say: &Say) -> Result<(), String> {
    let a = wait(handle, "the design spec", STAGE_SECS, |s| {
        pending(s, ApprovalKind::DesignSpec)
    })
    .await?;
    if auto {
        say.stage(
            3,
            &format!("the design spec awaits approval ({a}); the demo approves it (--auto)"),
        )
        .await;
        say.hold(Duration::from_secs(3)).await;
        approve_if_pending(
            handle,
            ApprovalKind::DesignSpec,
            &a,
            "clear enough to start",
        )
        .await?;
    } else {
        say.stage(
            3,
            &format!("the design spec awaits you ({a}): press 3 (Plan), then a, then enter"),
        )
        .await;
    }
    // Interactive: as long as the human takes (a rejection sends it back to the designer).
    let secs = if auto { STAGE_SECS } else { 24 * 3600 };
    wait(handle, "the design spec's approval", secs, |s| {
        task_is(s, "design", TaskStatus::Done).then_some(())
    })
    .await?;
    say.line("design approved: two implementers start in parallel worktrees");
    Ok(())
}

/// The implementer's concern, once it reaches the human, acknowledged and resolved (unless
/// the human did it in the console first).
async fn settle_concern(handle: &Handle, say: &Say) -> Result<(), String> {
    say.stage(
        4,
        "two implementers work in parallel; a concern climbs to you",
    )
    .await;
    let c = wait(
        handle,
        "the implementer's concern reaching the human",
        STAGE_SECS,
        |s| {
            s.concerns
                .values()
                .find(|c| c.category == "spec_ambiguity" && c.to == Role::Human)
                .map(|c| c.id.to_string())
        },
    )
    .await?;
    say.line(&format!(
        "{c} escalated to the human; acknowledging and resolving it"
    ));
    say.hold(Duration::from_secs(1)).await;
    let status = |s: &State| {
        s.concerns
            .values()
            .find(|x| x.id.to_string() == c)
            .map(|x| x.status)
    };
    let s = snapshot(handle).await?;
    if status(&s) == Some(ConcernStatus::Open) {
        command(handle, &format!("/ack {c}")).await?;
    }
    let s = snapshot(handle).await?;
    if status(&s) != Some(ConcernStatus::Resolved) {
        command(
            handle,
            &format!("/resolve {c} an empty slice has no mean: None, as implemented"),
        )
        .await?;
    }
    Ok(())
}

/// The failing test's branch todo, the fix, the test plan approved and phase 1 done.
async fn fix_and_approve_tests(handle: &Handle, say: &Say) -> Result<(), String> {
    say.stage(
        5,
        "the tester's check fails; a branch todo sends the fix to the debugger",
    )
    .await;
    let fix = wait(
        handle,
        "the branch todo of a failing test",
        STAGE_SECS,
        |s| find_task(s, |t| t.parent_id.as_deref() == Some("tests")).map(|t| t.id.clone()),
    )
    .await?;
    say.line(&format!(
        "a test failed: branch todo {fix} for the debugger"
    ));

    let a = wait(handle, "the test plan", STAGE_SECS, |s| {
        pending(s, ApprovalKind::TestPlan)
    })
    .await?;
    say.line(&format!("the fix passes; approving the test plan ({a})"));
    say.hold(Duration::from_secs(1)).await;
    approve_if_pending(
        handle,
        ApprovalKind::TestPlan,
        &a,
        "the plan covers the spec",
    )
    .await?;
    wait(handle, "phase 1 done", STAGE_SECS, |s| {
        ["design", "impl-mean", "impl-median", "tests"]
            .iter()
            .all(|t| task_is(s, t, TaskStatus::Done))
            .then_some(())
    })
    .await
}

/// Phase 2 released (the signal file), its change done and saved.
async fn second_change(handle: &Handle, ws: &Workspace, say: &Say) -> Result<(), String> {
    say.stage(
        7,
        "phase 2: a second change (tally::mode), then a second Save",
    )
    .await;
    std::fs::write(ws.dir.join(PHASE_2_SIGNAL), "")
        .map_err(|e| format!("{}: {e}", ws.dir.join(PHASE_2_SIGNAL).display()))?;
    say.line("phase 2: the second change (tally::mode)");
    wait(handle, "the second change", STAGE_SECS, |s| {
        task_is(s, "impl-mode", TaskStatus::Done).then_some(())
    })
    .await?;
    say.line("Save: the second change");
    let second = operation(handle, Command::Save).await?;
    say.line(&format!("checkpoint {second} saved"));
    Ok(())
}

async fn roll_back(handle: &Handle, first: &str, say: &Say) -> Result<(), String> {
    say.stage(
        8,
        &format!("rollback to the first checkpoint ({first}); then the daily digest"),
    )
    .await;
    say.line(&format!("rollback to {first}"));
    let back = operation(
        handle,
        Command::Rollback {
            checkpoint: first.to_string(),
            branch: None,
            reason: Some("demo: back to the first checkpoint".into()),
        },
    )
    .await?;
    say.line(&format!("{back} restores {first}"));
    Ok(())
}

/// The day's digest, as `[reports] daily_at` writes it, with its own core (like the owner's
/// daily task): the report, the status documents and the audit records on the integration
/// branch, and its summary on #system-health.
async fn write_digest(ws: &Workspace, say: &Say) -> Result<(), String> {
    let ws2 = ws.clone();
    let written = tokio::task::spawn_blocking(move || {
        let config = crate::cli::session::load_config(&ws2);
        let mut core = crate::core::Core::open(&ws2, &config).map_err(|e| e.to_string())?;
        crate::core::digest::write_daily(&mut core, &crate::core::now())
    })
    .await
    .map_err(|e| e.to_string())??;
    say.line(&format!(
        "the daily digest: reports/{} committed on the integration branch",
        written.digest.file_name()
    ));
    Ok(())
}

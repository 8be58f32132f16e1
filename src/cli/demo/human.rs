//! The human's hands in the demo: commands submitted to the core as `cli:demo` (so the audit
//! trail shows each of them), waiting for the state with a deadline, a Save or rollback
//! followed to its end, and the questions asked of the state.

use std::time::{Duration, Instant};

use crate::core::Handle;
use crate::protocol::model::{ApprovalKind, TaskStatus};
use crate::protocol::{parse, Command, EventKind, Origin, ReplyData, State};

/// The longest any one stage may take before the demo gives up (a stalled stage never hangs).
pub(super) const STAGE_SECS: u64 = 90;

/// What the human's commands say they come from.
fn demo_origin() -> Origin {
    Origin::Cli {
        user: "demo".into(),
    }
}

pub(super) async fn snapshot(handle: &Handle) -> Result<State, String> {
    handle
        .snapshot()
        .await
        .ok_or_else(|| "the core stopped".to_string())
}

pub(super) async fn submit(
    handle: &Handle,
    command: Command,
) -> Result<crate::protocol::Reply, String> {
    let line = crate::protocol::print(&command);
    let reply = handle.submit(demo_origin(), command).await;
    if reply.ok {
        Ok(reply)
    } else {
        Err(format!("{line} was refused: {}", reply.message))
    }
}

pub(super) async fn command(handle: &Handle, line: &str) -> Result<(), String> {
    let command = parse(line).map_err(|e| format!("{line}: {e}"))?;
    submit(handle, command).await.map(drop)
}

/// Polls the state until `f` finds something, or gives up after `secs` with what it waited for.
pub(super) async fn wait<T>(
    handle: &Handle,
    what: &str,
    secs: u64,
    f: impl Fn(&State) -> Option<T>,
) -> Result<T, String> {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = snapshot(handle).await?;
        if let Some(t) = f(&s) {
            return Ok(t);
        }
        if let Some(failed) = find_task(&s, |t| t.status == TaskStatus::Failed) {
            return Err(format!(
                "task {} failed while waiting for {what}: {}",
                failed.id,
                failed
                    .commentary
                    .last()
                    .map(String::as_str)
                    .unwrap_or("no reason given")
            ));
        }
        if Instant::now() > until {
            return Err(format!("stalled: no {what} after {secs} s"));
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// A Save or rollback, to its end; the name of the checkpoint it made.
pub(super) async fn operation(handle: &Handle, command: Command) -> Result<String, String> {
    let mut events = handle.subscribe();
    let before = snapshot(handle).await?.checkpoints.len();
    let reply = submit(handle, command).await?;
    let id = match &reply.data {
        ReplyData::Operation(op) => op.id,
        _ => return Err(format!("no operation started: {}", reply.message)),
    };
    let until = tokio::time::Instant::now() + Duration::from_secs(STAGE_SECS);
    loop {
        let ev = match tokio::time::timeout_at(until, events.recv()).await {
            Err(_) => {
                return Err(format!(
                    "stalled: operation {id} did not finish in {STAGE_SECS} s"
                ))
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                let s = snapshot(handle).await?;
                if s.operation.is_none() && s.checkpoints.len() > before {
                    break;
                }
                continue;
            }
            Ok(Err(_)) => return Err("the core stopped".into()),
            Ok(Ok(ev)) => ev,
        };
        if let EventKind::OperationFinished {
            id: done,
            outcome,
            message,
            ..
        } = &ev.kind
        {
            if *done == id {
                if *outcome != crate::protocol::model::OperationOutcome::Checkpointed {
                    return Err(format!("operation {id} ended {outcome:?}: {message}"));
                }
                break;
            }
        }
    }
    let s = snapshot(handle).await?;
    s.checkpoints
        .get(before..)
        .and_then(|new| new.last())
        .map(|c| c.name.clone())
        .ok_or_else(|| format!("operation {id} finished without a checkpoint"))
}

pub(super) fn pending(s: &State, kind: ApprovalKind) -> Option<String> {
    s.approvals
        .values()
        .find(|a| a.kind == kind && a.decision.is_none())
        .map(|a| a.id.to_string())
}

pub(super) fn find_task(
    s: &State,
    f: impl Fn(&crate::protocol::model::Task) -> bool,
) -> Option<&crate::protocol::model::Task> {
    s.plan
        .as_ref()?
        .phases
        .iter()
        .flat_map(|p| p.tasks.iter())
        .find(|t| f(t))
}

pub(super) fn task_is(s: &State, id: &str, status: TaskStatus) -> bool {
    find_task(s, |t| t.id == id).is_some_and(|t| t.status == status)
}

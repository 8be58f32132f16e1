//! `overlord-tui serve` and `overlord-tui run`: own the repository headlessly until
//! SIGINT/SIGTERM (with `run`, dispatching the plan's tasks to agents), and `run`'s progress
//! lines on stderr (the demo prints them too).

use std::path::PathBuf;

use super::output::Outcome;
use super::owner::{own, stopped};
use super::session::workspace;

/// `serve` and `run`: own the repository until SIGINT/SIGTERM, with progress on stderr.
pub(super) fn serve(repo: &Option<PathBuf>, agents: bool) -> Outcome {
    let ws = workspace(repo)?;
    own(ws, agents, |owner| async move {
        let printer = agents.then(|| tokio::spawn(print_progress(owner.handle.subscribe())));
        eprintln!(
            "overlord-tui {} {} on {} (pid {}); Ctrl-C to stop",
            if agents {
                "running the swarm in"
            } else {
                "serving"
            },
            owner.ws.root.display(),
            owner.ws.relative(&owner.ws.socket_path()),
            std::process::id()
        );
        if let Some(addr) = owner.metrics_addr {
            eprintln!("metrics (OpenMetrics) on http://{addr}/metrics");
        }
        stopped(owner.stop).await;
        if let Some(p) = printer {
            eprintln!("stopping the agents…");
            p.abort();
        }
        Ok(())
    })
}

/// `overlord-tui run`'s progress lines: what the swarm does, and what waits for the human.
pub(super) async fn print_progress(
    mut events: tokio::sync::broadcast::Receiver<crate::protocol::Event>,
) {
    use crate::protocol::EventKind as K;
    loop {
        let ev = match events.recv().await {
            Ok(e) => e,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        let at = ev.at.get(11..19).unwrap_or("");
        let line = match &ev.kind {
            K::AgentStateChanged {
                agent,
                state,
                task,
                detail,
                ..
            } => Some(format!(
                "{agent} {}{}{}",
                state.as_str(),
                task.as_ref().map(|t| format!(" {t}")).unwrap_or_default(),
                detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
            )),
            K::TaskStatusChanged { task, status, .. } => Some(format!("task {task} → {status}")),
            K::TaskAdded { task, .. } => Some(format!(
                "branch todo {} for the {}: {}",
                task.id, task.role, task.title
            )),
            K::ApprovalRequested { approval } => Some(format!(
                "{} {} {} awaits your decision: overlord-tui cmd '/approve {}' (or /reject {} <reason>)",
                approval.id, approval.kind, approval.subject, approval.id, approval.id
            )),
            K::ConcernRaised { concern } => Some(format!(
                "{} {} {} ({} → {}): {}",
                concern.id, concern.severity, concern.category, concern.from, concern.to, concern.summary
            )),
            K::ConcernEscalated { id, to, reason } => Some(format!("{id} escalated to the {to}: {reason}")),
            K::HandoffRecorded { handoff } => Some(format!(
                "{} {} → {}: {}",
                handoff.id, handoff.from, handoff.to, handoff.purpose
            )),
            K::ClarificationAnswered { id, answer } => Some(format!("{id} answered: {answer}")),
            K::CheckpointCreated { checkpoint } => Some(format!("checkpoint {}", checkpoint.name)),
            _ => None,
        };
        if let Some(l) = line {
            eprintln!("{at} {l}");
        }
    }
}

//! Hand-offs and variations: recording a hand-off between roles, proposing a variation, and
//! the rule they share — high impact goes to the human as an approval, lower impact is
//! logged within the guard rails.

use super::lookup::task_exists;
use super::outcome::Outcome;
use crate::protocol::model::{
    Approval, ApprovalId, ApprovalKind, Handoff, HandoffId, Impact, Role, Variation, VariationId,
};
use crate::protocol::report::ReplyData;
use crate::protocol::{EventKind, HandoffDraft, Origin, Rejection, State, VariationDraft};

/// `/handoff …`: the hand-off record; tagged impact high, it is also a variation.
pub(super) fn record_handoff(
    state: &State,
    origin: &Origin,
    d: &HandoffDraft,
    now: &str,
) -> Result<Outcome, Rejection> {
    if let Some(t) = &d.task {
        task_exists(state, t)?;
    }
    let handoff = Handoff {
        id: HandoffId(state.counters.handoffs + 1),
        from: d.from,
        to: d.to,
        purpose: d.purpose.clone(),
        inputs: d.inputs.clone(),
        outputs: d.outputs.clone(),
        summary: d.summary.clone(),
        status: d.status.clone().unwrap_or_else(|| "completed".into()),
        impact: d.impact,
        task: d.task.clone(),
        agent: origin.agent(),
        timestamp: now.to_string(),
    };
    let mut events = vec![EventKind::HandoffRecorded {
        handoff: handoff.clone(),
    }];
    let mut message = format!("{} recorded ({} → {})", handoff.id, d.from, d.to);
    if d.impact == Some(Impact::High) {
        // Seed 001: a handoff tagged impact: high is a variation for the human.
        let (variation, approval) = variation_with_approval(
            state,
            d.from,
            origin,
            Impact::High,
            d.purpose.clone(),
            Some(d.summary.clone()),
            d.outputs.clone(),
            now,
        );
        message.push_str(&format!(
            "; high impact: variation {} awaits the human as {}",
            variation.id,
            approval
                .as_ref()
                .map(|a| a.id.to_string())
                .unwrap_or_default()
        ));
        events.push(EventKind::VariationProposed { variation });
        events.extend(approval.map(|approval| EventKind::ApprovalRequested { approval }));
    }
    Ok(Outcome {
        events,
        message,
        data: ReplyData::Handoff(Box::new(handoff)),
    })
}

/// `/propose --impact … <title>`: a variation, for the human when its impact is high.
pub(super) fn propose(
    state: &State,
    origin: &Origin,
    d: &VariationDraft,
    now: &str,
) -> Result<Outcome, Rejection> {
    let from = d.from.unwrap_or_else(|| origin.role());
    let (variation, approval) = variation_with_approval(
        state,
        from,
        origin,
        d.impact,
        d.title.clone(),
        d.rationale.clone(),
        d.affects.clone(),
        now,
    );
    let message = match &approval {
        Some(a) => format!(
            "variation {} proposed (high impact): awaits the human as {}",
            variation.id, a.id
        ),
        None => format!(
            "variation {} logged ({} impact: within the guard rails, no human review)",
            variation.id, d.impact
        ),
    };
    let mut events = vec![EventKind::VariationProposed {
        variation: variation.clone(),
    }];
    events.extend(approval.map(|approval| EventKind::ApprovalRequested { approval }));
    Ok(Outcome {
        events,
        message,
        data: ReplyData::Variation(Box::new(variation)),
    })
}

#[allow(clippy::too_many_arguments)]
fn variation_with_approval(
    state: &State,
    from: Role,
    origin: &Origin,
    impact: Impact,
    title: String,
    rationale: Option<String>,
    affects: Vec<String>,
    now: &str,
) -> (Variation, Option<Approval>) {
    let id = VariationId(state.counters.variations + 1);
    let approval = (impact == Impact::High).then(|| {
        Approval::pending(
            ApprovalId(state.counters.approvals + 1),
            ApprovalKind::Variation,
            id.to_string(),
            title.clone(),
            origin.actor(),
            now.to_string(),
        )
    });
    // The task it is about: the proposing agent's, else one the variation names.
    let task = origin
        .agent()
        .and_then(|a| state.agents.get(&a))
        .and_then(|a| a.task.clone())
        .or_else(|| {
            let plan = state.plan.as_ref()?;
            affects.iter().find(|x| plan.task(x).is_some()).cloned()
        });
    let variation = Variation {
        id,
        proposed_by: from,
        agent: origin.agent(),
        title,
        impact,
        rationale,
        affects,
        task,
        proposed_at: now.to_string(),
        approval: approval.as_ref().map(|a| a.id),
        decision: None,
        conditions: None,
        comment: None,
        reviewed_by: None,
        decided_at: None,
    };
    (variation, approval)
}

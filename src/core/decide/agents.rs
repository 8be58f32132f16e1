//! The rules for agents: registering one, asking it a question (`/clarify`, `/answer`),
//! redirecting its work (`/assign`), and holding or releasing it (`/pause`, `/resume`, the
//! kill switch).

use super::lookup::{agent, concern, task_exists};
use super::outcome::{none, reject, unknown, Outcome};
use crate::protocol::model::{
    Agent, Clarification, ClarificationId, ConcernId, ConcernStatus, Role,
};
use crate::protocol::report::ReplyData;
use crate::protocol::{EventKind, Origin, RejectCode, Rejection, State, Target};

/// `/agent <id> --role …`: a new agent, unless the id is taken or reserved.
pub(super) fn register(
    state: &State,
    id: &str,
    role: Role,
    adapter: Option<&str>,
    task: Option<&String>,
    now: &str,
) -> Result<Outcome, Rejection> {
    if id.eq_ignore_ascii_case("all") {
        return Err(reject(
            RejectCode::InvalidInput,
            "'all' is reserved (it means every agent in /pause all)",
        ));
    }
    if state.agents.contains_key(id) {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!("agent {id} is already registered"),
        ));
    }
    if let Some(t) = task {
        task_exists(state, t)?;
    }
    let mut agent = Agent::new(id, role, adapter.unwrap_or("manual"), now);
    agent.task = task.cloned();
    Ok(Outcome {
        message: format!("agent {id} registered ({role})"),
        data: ReplyData::Agent(Box::new(agent.clone())),
        events: vec![EventKind::AgentRegistered { agent }],
    })
}

/// `/clarify <agent> <message>`: a question for the agent, one at a time.
pub(super) fn clarify(
    state: &State,
    origin: &Origin,
    id: &String,
    message: &str,
    now: &str,
) -> Result<Outcome, Rejection> {
    agent(state, id)?;
    let open = state
        .clarifications
        .values()
        .find(|c| &c.agent == id && c.answer.is_none());
    if let Some(c) = open {
        // Seed 001: one pending clarification per agent, to avoid loops.
        return Err(reject(
            RejectCode::InvalidTransition,
            format!(
                "{id} has not answered {} yet (\"{}\"); one question at a time",
                c.id, c.question
            ),
        ));
    }
    let clarification = Clarification {
        id: ClarificationId(state.counters.clarifications + 1),
        agent: id.clone(),
        question: message.to_string(),
        asked_by: origin.actor(),
        asked_at: now.to_string(),
        answer: None,
        answered_at: None,
    };
    Ok(Outcome {
        message: format!("question {} sent to {id}", clarification.id),
        data: ReplyData::Clarification(Box::new(clarification.clone())),
        events: vec![EventKind::ClarificationRequested { clarification }],
    })
}

/// `/answer <clarification> <text>`: the agent's answer, once.
pub(super) fn answer(
    state: &State,
    clarification: ClarificationId,
    text: &str,
) -> Result<Outcome, Rejection> {
    let Some(c) = state.clarifications.get(&clarification) else {
        if clarification.0 >= 1 && clarification.0 <= state.counters.clarifications {
            let id = clarification.to_string();
            return Err(super::lookup::finished_earlier(
                &id,
                "answered",
                "clarifications",
            ));
        }
        let ids: Vec<String> = state.clarifications.keys().map(|k| k.to_string()).collect();
        return Err(unknown(
            "clarification",
            &clarification.to_string(),
            ids.iter().map(String::as_str),
        ));
    };
    if c.answer.is_some() {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!("{clarification} was already answered"),
        ));
    }
    Ok(none(
        format!("{clarification} answered"),
        vec![EventKind::ClarificationAnswered {
            id: clarification,
            answer: text.to_string(),
        }],
    ))
}

/// `/assign <agent> [<concern>] <text>`: new work for the agent, or a concern to handle.
pub(super) fn assign(
    state: &State,
    id: &String,
    cid: Option<ConcernId>,
    text: &String,
) -> Result<Outcome, Rejection> {
    agent(state, id)?;
    let Some(cid) = cid else {
        return Ok(none(
            format!("work assigned to {id}"),
            vec![EventKind::WorkAssigned {
                agent: id.clone(),
                text: text.clone(),
            }],
        ));
    };
    let c = concern(state, cid)?;
    if c.status == ConcernStatus::Resolved {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!("{cid} is already resolved"),
        ));
    }
    let work = if text.is_empty() {
        format!("{cid}: {}", c.summary)
    } else {
        format!("{cid}: {text}")
    };
    Ok(none(
        format!("{cid} assigned to {id}"),
        vec![
            EventKind::ConcernAssigned {
                id: cid,
                to: id.clone(),
                response: (!text.is_empty()).then(|| text.clone()),
            },
            EventKind::WorkAssigned {
                agent: id.clone(),
                text: work,
            },
        ],
    ))
}

/// `/pause <agent|all>`: hold one agent, or turn the kill switch on.
pub(super) fn pause(state: &State, origin: &Origin, target: &Target) -> Result<Outcome, Rejection> {
    match target {
        Target::All => {
            if state.dispatch_halted {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    "everything is already paused (the kill switch is on)",
                ));
            }
            Ok(none(
                format!(
                    "kill switch on: dispatch halted, {} suspended",
                    crate::protocol::report::plural(state.agents.len(), "agent")
                ),
                vec![EventKind::DispatchHalted {
                    reason: Some(format!("/pause all by {}", origin.actor())),
                }],
            ))
        }
        Target::Agent(id) => {
            let a = agent(state, id)?;
            if a.paused {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("{id} is already paused"),
                ));
            }
            Ok(none(
                format!("{id} paused"),
                vec![EventKind::AgentPaused { agent: id.clone() }],
            ))
        }
    }
}

/// `/resume <agent|all>`: release one agent, or turn the kill switch off.
pub(super) fn resume(state: &State, target: &Target) -> Result<Outcome, Rejection> {
    match target {
        Target::All => {
            if !state.dispatch_halted && !state.agents.values().any(|a| a.paused) {
                return Err(reject(RejectCode::InvalidTransition, "nothing is paused"));
            }
            Ok(none(
                "dispatch resumed, every agent resumed",
                vec![EventKind::DispatchResumed],
            ))
        }
        Target::Agent(id) => {
            let a = agent(state, id)?;
            if state.dispatch_halted {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("the kill switch is on: /resume all first (then pause the others you want held), not just {id}"),
                ));
            }
            if !a.paused {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("{id} is not paused"),
                ));
            }
            Ok(none(
                format!("{id} resumed"),
                vec![EventKind::AgentResumed { agent: id.clone() }],
            ))
        }
    }
}

//! Which item of history each event belongs to: a concern, an approval, a variation, a
//! question to an agent or a QA run, and whether the event finishes it. The store keeps these
//! references in an index beside the trail (written in the same transaction as the events),
//! so an item the live state has let go of (`retention`) is found again by folding only its
//! own events. Pure: a function of the state before the events and the events.

use std::collections::BTreeMap;

use super::model::{ApprovalKind, QaRun};
use super::state::State;
use super::{Event, EventKind};

/// The kinds of item the index knows, by the name the store and the CLI use.
pub const ITEM_KINDS: [&str; 6] = [
    "concern",
    "approval",
    "variation",
    "clarification",
    "qa_run",
    "handoff",
];

/// One event's part in one item's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// One of [`ITEM_KINDS`].
    pub kind: &'static str,
    /// The item's id as it prints (`C-12`, `A-3`, `V-2`, `Q-1`, `QA-7`).
    pub id: String,
    /// Whether this event finishes the item (resolved, decided, answered, recorded).
    pub finishes: bool,
}

impl ItemRef {
    fn new(kind: &'static str, id: impl ToString, finishes: bool) -> ItemRef {
        ItemRef {
            kind,
            id: id.to_string(),
            finishes,
        }
    }
}

/// The item references of a batch of events about to be folded into `state`: (the event's
/// place in the batch, the reference). An approval of a variation counts for the variation
/// too (its decision decides the variation), whether the approval was asked before the batch
/// or in it.
pub fn item_refs(state: &State, batch: &[Event]) -> Vec<(usize, ItemRef)> {
    let mut asked: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, e) in batch.iter().enumerate() {
        let mut push = |r: ItemRef| out.push((i, r));
        match &e.kind {
            EventKind::ConcernRaised { concern } => {
                push(ItemRef::new("concern", concern.id, false))
            }
            EventKind::ConcernAcknowledged { id }
            | EventKind::ConcernAssigned { id, .. }
            | EventKind::ConcernEscalated { id, .. }
            | EventKind::ConcernMessageLinked { id, .. } => {
                push(ItemRef::new("concern", id, false))
            }
            EventKind::ConcernResolved { id, .. } => push(ItemRef::new("concern", id, true)),
            EventKind::ApprovalRequested { approval } => {
                push(ItemRef::new("approval", approval.id, false));
                if approval.kind == ApprovalKind::Variation {
                    asked.insert(approval.id.to_string(), approval.subject.clone());
                    push(ItemRef::new("variation", &approval.subject, false));
                }
            }
            EventKind::ApprovalDecided { id, decision, .. } => {
                push(ItemRef::new("approval", id, decision.is_final()));
                let variation = asked.get(&id.to_string()).cloned().or_else(|| {
                    state
                        .approvals
                        .get(id)
                        .filter(|a| a.kind == ApprovalKind::Variation)
                        .map(|a| a.subject.clone())
                });
                if let Some(v) = variation {
                    push(ItemRef::new("variation", v, decision.is_final()));
                }
            }
            EventKind::VariationProposed { variation } => {
                push(ItemRef::new("variation", variation.id, false))
            }
            EventKind::ClarificationRequested { clarification } => {
                push(ItemRef::new("clarification", clarification.id, false))
            }
            EventKind::ClarificationAnswered { id, .. } => {
                push(ItemRef::new("clarification", id, true))
            }
            EventKind::QaRunRecorded { run } => push(qa_ref(run)),
            EventKind::HandoffRecorded { handoff } => {
                push(ItemRef::new("handoff", handoff.id, true))
            }
            _ => {}
        }
    }
    out
}

fn qa_ref(run: &QaRun) -> ItemRef {
    ItemRef::new("qa_run", run.id, true)
}

/// Folds one item's own events (oldest first) into a fresh state: the item as the live state
/// had it when it was last there. Its events alone rebuild it: an item's events name only it.
pub fn fold_item(events: &[Event]) -> State {
    let mut s = State::default();
    for e in events {
        s.apply(e);
    }
    s
}

//! History on demand: the store's item index (`store::items`) read page by page — a finished
//! concern, approval, variation, question or QA run that the live state has let go of
//! (`protocol::retention`) rebuilt by folding its own events; read from one replay where the
//! index does not reach the head and cannot be rebuilt (a read-only store an older build
//! wrote).

use std::collections::BTreeMap;

use serde_json::Value;

use super::engine::CoreError;
use crate::protocol::items::{fold_item, item_refs, ITEM_KINDS};
use crate::protocol::{Event, State};
use crate::store::Store;

/// A page of finished items of one kind, the most recently finished first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page {
    pub kind: String,
    /// How many finished items of the kind there are in all.
    pub total: u64,
    pub offset: u64,
    pub items: Vec<Value>,
}

/// Finished items of `kind` (`concern`, `approval`, `variation`, `clarification`,
/// `qa_run`): `limit` of them after `offset`, each as the live state last had it.
pub fn finished(store: &Store, kind: &str, offset: u64, limit: u64) -> Result<Page, CoreError> {
    let kind = known_kind(kind)?;
    let (total, items) = if store.items_through()? == Some(store.head().0) {
        let mut items = Vec::new();
        for f in store.finished_items(kind, offset, limit)? {
            items.extend(item(store, kind, &f.id)?);
        }
        (store.finished_count(kind)?, items)
    } else {
        // A read-only store an older build wrote: a replay, for this once.
        let all = replay_finished(store, kind)?;
        let total = all.len() as u64;
        let page = all.into_iter().skip(offset as usize).take(limit as usize);
        (total, page.collect())
    };
    Ok(Page {
        kind: kind.to_string(),
        total,
        offset,
        items,
    })
}

fn known_kind(kind: &str) -> Result<&'static str, CoreError> {
    let kind = kind.trim_end_matches('s').replace('-', "_");
    ITEM_KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .ok_or_else(|| {
            CoreError::Usage(format!(
                "no history of \"{kind}\": the kinds are {}",
                ITEM_KINDS.join(", ")
            ))
        })
}

/// One item rebuilt from its own events.
fn item(store: &Store, kind: &str, id: &str) -> Result<Option<Value>, CoreError> {
    let mut events = Vec::new();
    for (seq, body) in store.item_event_bodies(kind, id)? {
        events.push(
            serde_json::from_str::<Event>(&body).map_err(|e| CoreError::BadEvent {
                seq,
                message: e.to_string(),
            })?,
        );
    }
    Ok(pick(&fold_item(&events), kind, id))
}

/// The item `kind`/`id` out of a state, as JSON.
fn pick(s: &State, kind: &str, id: &str) -> Option<Value> {
    fn json<T: serde::Serialize>(v: &T) -> Value {
        serde_json::to_value(v).unwrap_or(Value::Null)
    }
    let id = |x: &dyn std::fmt::Display| x.to_string() == id;
    match kind {
        "concern" => s.concerns.values().find(|c| id(&c.id)).map(json),
        "approval" => s.approvals.values().find(|a| id(&a.id)).map(json),
        "variation" => s.variations.values().find(|v| id(&v.id)).map(json),
        "clarification" => s.clarifications.values().find(|c| id(&c.id)).map(json),
        "qa_run" => s.qa_runs.iter().find(|r| id(&r.id)).map(json),
        "handoff" => s.handoffs.iter().find(|h| id(&h.id)).map(json),
        _ => None,
    }
}

/// Every finished item of `kind` by one replay, the most recently finished first.
fn replay_finished(store: &Store, kind: &str) -> Result<Vec<Value>, CoreError> {
    let mut state = State::default();
    let mut per_item: BTreeMap<String, (Vec<Event>, Option<u64>)> = BTreeMap::new();
    for (seq, body) in store.event_bodies_after(0)? {
        let event: Event = serde_json::from_str(&body).map_err(|e| CoreError::BadEvent {
            seq,
            message: e.to_string(),
        })?;
        for (_, r) in item_refs(&state, std::slice::from_ref(&event)) {
            if r.kind == kind {
                let entry = per_item.entry(r.id).or_default();
                entry.0.push(event.clone());
                if r.finishes {
                    entry.1 = Some(seq);
                }
            }
        }
        state.apply(&event);
    }
    let mut done: Vec<(u64, String, Vec<Event>)> = per_item
        .into_iter()
        .filter_map(|(id, (events, finished))| finished.map(|f| (f, id, events)))
        .collect();
    done.sort_by_key(|d| std::cmp::Reverse(d.0));
    Ok(done
        .into_iter()
        .filter_map(|(_, id, events)| pick(&fold_item(&events), kind, &id))
        .collect())
}

//! `overlord-tui history <kind>`: finished concerns, approvals, variations, questions and QA
//! runs, the most recently finished first, a page at a time (the live state keeps only the
//! newest of them); and the whole of it for `status --json --all`.

use std::path::PathBuf;

use serde_json::Value;

use super::output::{fail, print_json, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{open_store_for_audit, workspace};
use crate::core::history::{finished, Page};
use crate::protocol::items::ITEM_KINDS;
use crate::store::Store;

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// What to list: concerns, approvals, variations, clarifications, qa-runs or handoffs
    pub kind: String,
    /// Which page, from 1 (the most recently finished)
    #[arg(long, default_value_t = 1)]
    pub page: u64,
    /// Items per page
    #[arg(long, default_value_t = 20)]
    pub per_page: u64,
    #[arg(long)]
    pub json: bool,
}

pub(super) fn history(repo: &Option<PathBuf>, args: HistoryArgs) -> Outcome {
    if args.page == 0 || args.per_page == 0 {
        return Err(fail("--page and --per-page count from 1"));
    }
    let ws = workspace(repo)?;
    let store = open_store_for_audit(&ws)?;
    let offset = (args.page - 1).saturating_mul(args.per_page);
    let page = finished(&store, &args.kind, offset, args.per_page).map_err(fail)?;
    if args.json {
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "history": page,
        }));
    }
    let pages = page.total.div_ceil(args.per_page).max(1);
    println!(
        "{} finished {} — page {} of {pages}, the most recently finished first",
        page.total,
        plural_kind(&page.kind),
        args.page
    );
    for item in &page.items {
        println!("{}", line(item));
    }
    if args.page < pages {
        println!("(next: --page {})", args.page + 1);
    }
    Ok(())
}

/// Every finished item of every kind, for `status --json --all`.
pub(super) fn everything(store: &Store) -> Result<Value, Failed> {
    let mut out = serde_json::Map::new();
    for kind in ITEM_KINDS {
        let page: Page = finished(store, kind, 0, u64::MAX / 2).map_err(fail)?;
        out.insert(plural_kind(kind), Value::Array(page.items));
    }
    Ok(Value::Object(out))
}

fn plural_kind(kind: &str) -> String {
    format!("{}s", kind.replace('_', "-"))
}

/// One item in a line: its id, what it was, how it ended and when.
fn line(item: &Value) -> String {
    let first = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| item.get(*k).filter(|v| !v.is_null()))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let what = first(&["summary", "title", "question", "tree"]);
    let end = first(&["resolution", "decision", "answer"]);
    let by = first(&["resolved_by", "decided_by"]);
    let at = first(&["resolved_at", "decided_at", "answered_at", "finished_at"]);
    let mut out = format!("{}  {what}", first(&["id"]));
    if !end.is_empty() {
        out.push_str(&format!(" — {end}"));
    }
    if !by.is_empty() {
        out.push_str(&format!(" (by {by})"));
    }
    if !at.is_empty() {
        out.push_str(&format!(" at {at}"));
    }
    out
}

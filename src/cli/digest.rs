//! `overlord-tui digest`: the daily digest written now (`.overlord/reports/DAILY_<date>.md`
//! with the day's audit records, committed on the integration branch).

use std::path::PathBuf;

use super::output::{fail, print_json, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{load_config, workspace};
use crate::core::Core;

pub(super) fn digest(repo: &Option<PathBuf>, json: bool, now: Option<String>) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let now = now.unwrap_or_else(crate::core::now);
    if crate::core::parse_stamp(&now).is_none() {
        eprintln!("error: --now {now:?} is not an RFC 3339 time (e.g. 2026-11-21T23:55:00Z)");
        return Err(Failed(2));
    }
    let config = load_config(&ws);
    // Its own core, like `metrics`: the store serializes writers, and an owner folds the
    // events in (and the Discord bridge posts the summary) when it next polls.
    let mut core = Core::open(&ws, &config).map_err(fail)?;
    let w = crate::core::digest::write_daily(&mut core, &now).map_err(fail)?;
    if json {
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "date": w.digest.date,
            "file": ws.relative(&w.file),
            "records": w.records,
            "commit": w.commit,
            "note": w.note,
            "summary": w.digest.summary,
            "markdown": w.digest.markdown,
        }));
    }
    println!("{}", w.digest.summary);
    println!(
        "wrote {} ({} audit records with it)",
        ws.relative(&w.file),
        w.records
    );
    match (&w.commit, &w.note) {
        (Some(c), _) => println!(
            "committed {} on the integration branch",
            &c[..c.len().min(10)]
        ),
        (None, Some(n)) => println!("not committed: {n}"),
        (None, None) => {}
    }
    Ok(())
}

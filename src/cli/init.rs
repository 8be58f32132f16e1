//! `overlord-tui init`: set Overlord up in a repository (`.overlord/`: store, config, QA
//! policy).

use std::path::PathBuf;

use super::output::{fail, print_json, Outcome};
use super::session::workspace;

pub(super) fn init(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let report = ws.init().map_err(fail)?;
    if json {
        return print_json(&report);
    }
    if report.already_initialized && report.created.is_empty() {
        println!("Overlord is already set up in {}", report.root);
    } else {
        println!("Overlord set up in {}", report.root);
        for c in &report.created {
            println!("  created {c}");
        }
        println!("Next: overlord-tui plan import PLAN.json, then overlord-tui status");
        println!(
            "Discord (optional): fill in the commented [discord] section of .overlord/config.toml, then overlord-tui discord --check"
        );
    }
    Ok(())
}

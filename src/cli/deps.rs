//! `overlord-tui deps check [BASE]`: the hallucinated-dependency check on what the working
//! tree's manifests add or change since BASE (default: the main branch), each dependency
//! looked up in its registry. Exit 0: all exist; 1: some do not (each named); 3: none missing
//! but some could not be checked (offline, nothing cached).

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{fail, print_json, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{load_config, workspace};
use crate::deps::check::{changed_dependencies, check_change, Target};
use crate::deps::{Registries, Verdict};

#[derive(Subcommand, Debug)]
pub enum DepsCmd {
    /// Check that every dependency the working tree adds or changes since BASE exists in its
    /// registry (crates.io, npm, PyPI); exit 1 naming each one that does not
    Check {
        /// The revision to compare with (default: the main branch)
        base: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn deps(repo: &Option<PathBuf>, cmd: DepsCmd) -> Outcome {
    match cmd {
        DepsCmd::Check { base, json } => check(repo, base, json),
    }
}

fn check(repo: &Option<PathBuf>, base: Option<String>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let config = load_config(&ws);
    let base = match base {
        Some(b) => b,
        None => git2::Repository::open(&ws.root)
            .ok()
            .and_then(|r| crate::git::detect_main(&r, &config.git.main).ok())
            .unwrap_or_else(|| "main".to_string()),
    };
    let change = changed_dependencies(&ws.root, &base, Target::WorkingTree).map_err(fail)?;
    let registries = Registries::from_config(&config.deps, &ws.dir);
    let report = check_change(&registries, config.qa.hallucination_check, &base, change);
    let missing = report.missing();
    let unknown = report.unknown();
    if json {
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "ok": missing.is_empty() && unknown.is_empty(),
            "report": report,
        }))?;
    } else {
        println!(
            "{} dependenc{} added or changed since {base} in {} manifest(s)",
            report.checked.len(),
            if report.checked.len() == 1 {
                "y"
            } else {
                "ies"
            },
            report.manifests.len()
        );
        for c in &report.checked {
            let mark = match c.verdict {
                Verdict::Exists => "ok",
                Verdict::MissingPackage | Verdict::MissingVersion => "MISSING",
                Verdict::Yanked => "yanked",
                Verdict::Unknown => "unknown",
            };
            println!("  {mark:<8} {} [{}]: {}", c.label(), c.change, c.detail);
        }
        for e in &report.errors {
            eprintln!("warning: {e}");
        }
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|c| c.label()).collect();
        eprintln!("error: does not exist: {}", names.join(", "));
        return Err(Failed(1));
    }
    if !unknown.is_empty() {
        eprintln!(
            "warning: {} dependenc{} could not be checked (unknown, offline)",
            unknown.len(),
            if unknown.len() == 1 { "y" } else { "ies" }
        );
        return Err(Failed(3));
    }
    Ok(())
}

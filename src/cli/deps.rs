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
    /// The dependency watchdog: every manifest in the working tree against its registry —
    /// outdated, yanked and deprecated versions, and (with --osv) known vulnerabilities — as
    /// findings, or with --tickets as chore tickets (seed 002's format)
    Outdated {
        /// An OSV export (JSON) to match the versions in use against; repeatable
        #[arg(long, value_name = "FILE")]
        osv: Vec<PathBuf>,
        /// Print the findings as ticket drafts (JSON)
        #[arg(long)]
        tickets: bool,
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn deps(repo: &Option<PathBuf>, cmd: DepsCmd) -> Outcome {
    match cmd {
        DepsCmd::Check { base, json } => check(repo, base, json),
        DepsCmd::Outdated { osv, tickets, json } => outdated(repo, &osv, tickets, json),
    }
}

fn outdated(repo: &Option<PathBuf>, osv: &[PathBuf], tickets: bool, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let config = load_config(&ws);
    let registries = Registries::from_config(&config.deps, &ws.dir);
    let mut report = crate::deps::watchdog::scan(&ws.root, &registries);
    for file in osv {
        let shown = file.to_string_lossy().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| fail(format!("{shown}: {e}")))?;
        let found = crate::deps::watchdog::osv_findings(&ws.root, &text, &shown).map_err(fail)?;
        report.findings.extend(found);
    }
    if tickets {
        let repo_name = ws
            .root
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let drafts = crate::deps::watchdog::findings_to_ticket_drafts(&repo_name, &report.findings);
        return print_json(&drafts);
    }
    if json {
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "report": report,
        }));
    }
    println!(
        "{} package(s) in {} manifest(s): {} finding(s)",
        report.packages,
        report.manifests.len(),
        report.findings.len()
    );
    for f in &report.findings {
        println!("  [{}] {} — {}", f.priority, f.title, f.evidence.join("; "));
    }
    for u in &report.unknown {
        println!("  unknown: {u}");
    }
    for e in &report.errors {
        eprintln!("warning: {e}");
    }
    Ok(())
}

/// `overlord-tui janitor`: each outdated dependency updated one at a time on the janitor's
/// branch, kept when the tests pass, reverted when they fail.
pub(super) fn janitor(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let config = load_config(&ws);
    let (report, task) = crate::core::janitor::run_once(&ws, &config).map_err(fail)?;
    if json {
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "report": report,
            "task": task,
        }));
    }
    print!("{}", crate::deps::janitor::markdown(&report));
    match task {
        Some(t) => println!(
            "\nThe kept updates wait for Save as task {t} (its branch points at {}).",
            report.branch
        ),
        None => println!("\nNothing was kept: no task was added."),
    }
    Ok(())
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

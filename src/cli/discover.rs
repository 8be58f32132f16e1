//! `overlord-tui discover [--analyst coverage|logs] [--input PATH]… [--json]`: runs the
//! discovery analysts on demand and files what they find as tickets (deduplicated against the
//! open ones by the core), in the ready-for-robot queue.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::output::{fail, print_json, Outcome};
use super::session::{load_config, workspace, Session};
use crate::config::Config;
use crate::core::discovery::{self, coverage, logs};
use crate::core::tickets::TicketDraft;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Analyst {
    /// Files under `[discovery] coverage_threshold` → "write tests for X"
    Coverage,
    /// Recurring errors in log files and JSON-lines exports → bug tickets
    Logs,
}

impl Analyst {
    fn name(self) -> &'static str {
        match self {
            Analyst::Coverage => "coverage",
            Analyst::Logs => "logs",
        }
    }
}

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    /// The analyst to run (default: every analyst with configured inputs)
    #[arg(long, value_enum)]
    analyst: Option<Analyst>,
    /// Its input instead of the configured ones (coverage reports; log files), repeatable
    #[arg(long, value_name = "PATH")]
    input: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// The inputs of one analyst: `--input`, else the configuration's (relative to the root).
fn inputs(analyst: Analyst, given: &[PathBuf], config: &Config, root: &Path) -> Vec<PathBuf> {
    if !given.is_empty() {
        let cwd = std::env::current_dir().unwrap_or_else(|_| root.to_path_buf());
        return given.iter().map(|p| cwd.join(p)).collect();
    }
    let configured: Vec<String> = match analyst {
        Analyst::Coverage if config.discovery.coverage_reports.is_empty() => {
            crate::config::non_empty(&config.qa.coverage.report)
                .into_iter()
                .collect()
        }
        Analyst::Coverage => config.discovery.coverage_reports.clone(),
        Analyst::Logs => config.discovery.log_files.clone(),
    };
    configured.iter().map(|p| root.join(p)).collect()
}

/// The drafts of one analyst from its inputs; an input that cannot be read or parsed is an
/// error naming it.
fn drafts(
    analyst: Analyst,
    files: &[PathBuf],
    config: &Config,
    root: &Path,
) -> Result<Vec<TicketDraft>, String> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let shown = |p: &PathBuf| {
        p.strip_prefix(root)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    match analyst {
        Analyst::Coverage => {
            let mut out = Vec::new();
            for p in files {
                let report = coverage::read_report(&read(p)?)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                out.extend(coverage::tickets(
                    &report,
                    config.discovery.coverage_threshold,
                    &shown(p),
                    root,
                ));
            }
            Ok(out)
        }
        Analyst::Logs => {
            let mut errors = Vec::new();
            for p in files {
                errors.extend(logs::read(&read(p)?, &shown(p))?);
            }
            Ok(logs::tickets(
                &logs::cluster(errors),
                config.discovery.min_occurrences,
            ))
        }
    }
}

pub(super) fn discover(repo: &Option<PathBuf>, args: DiscoverArgs) -> Outcome {
    let ws = workspace(repo)?;
    let config = load_config(&ws);
    if args.analyst.is_none() && !args.input.is_empty() {
        return Err(fail(
            "--input needs --analyst coverage or --analyst logs (which analyst reads it)",
        ));
    }
    let chosen = match args.analyst {
        Some(a) => vec![a],
        None => vec![Analyst::Coverage, Analyst::Logs],
    };
    let mut session = Session::open(&ws)?;
    let mut results = Vec::new();
    for analyst in chosen {
        let files = inputs(analyst, &args.input, &config, &ws.root);
        if files.is_empty() {
            if args.analyst.is_some() {
                return Err(fail(format!(
                    "the {} analyst has no input: give --input PATH or configure [discovery] {}",
                    analyst.name(),
                    match analyst {
                        Analyst::Coverage => "coverage_reports (or [qa.coverage] report)",
                        Analyst::Logs => "log_files",
                    }
                )));
            }
            continue;
        }
        let drafts = drafts(analyst, &files, &config, &ws.root).map_err(fail)?;
        let before: Vec<String> = session.state()?.tickets.keys().cloned().collect();
        let message = match discovery::drafts_command(&ws, analyst.name(), &drafts).map_err(fail)? {
            None => "nothing found".to_string(),
            Some((_, command)) => {
                let reply = session.submit(command)?;
                if !reply.ok {
                    return Err(fail(reply.message));
                }
                reply.message
            }
        };
        let filed: Vec<String> = session
            .state()?
            .tickets
            .keys()
            .filter(|k| !before.contains(k))
            .cloned()
            .collect();
        results.push((analyst, files, drafts.len(), filed, message));
    }
    report(&results, args.json)
}

type Ran = (Analyst, Vec<PathBuf>, usize, Vec<String>, String);

fn report(results: &[Ran], json: bool) -> Outcome {
    if json {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|(a, files, drafted, filed, message)| {
                serde_json::json!({
                    "analyst": a.name(),
                    "inputs": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                    "drafted": drafted,
                    "filed": filed,
                    "message": message,
                })
            })
            .collect();
        return print_json(&serde_json::json!({
            "schema_version": super::JSON_SCHEMA_VERSION,
            "ok": true,
            "analysts": rows,
        }));
    }
    if results.is_empty() {
        println!("No analyst has inputs: configure [discovery] or give --analyst and --input");
        return Ok(());
    }
    for (a, files, drafted, _, message) in results {
        println!(
            "{}: {} from {}: {message}",
            a.name(),
            crate::protocol::report::plural(*drafted, "draft"),
            crate::protocol::report::plural(files.len(), "input")
        );
    }
    Ok(())
}

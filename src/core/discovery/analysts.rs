//! Running the discovery analysts: which ones a repository has inputs for, what each reads
//! (`--input`, else `[discovery]`), and the ticket drafts each makes. Shared by
//! `overlord-tui discover` and the owner's discovery schedule.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::core::discovery::{coverage, dependencies, logs};
use crate::core::tickets::TicketDraft;
use crate::deps::Registries;

/// One analyst of the discovery loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analyst {
    /// Files under `[discovery] coverage_threshold` → "write tests for X".
    Coverage,
    /// Recurring errors in log files and JSON-lines exports → bug tickets.
    Logs,
    /// Outdated, yanked, deprecated or vulnerable dependencies → chore tickets.
    Dependencies,
}

pub const ALL: [Analyst; 3] = [Analyst::Coverage, Analyst::Logs, Analyst::Dependencies];

impl Analyst {
    pub fn name(self) -> &'static str {
        match self {
            Analyst::Coverage => "coverage",
            Analyst::Logs => "logs",
            Analyst::Dependencies => "dependencies",
        }
    }

    /// The configuration key that gives it inputs (for the message when it has none).
    pub fn config_key(self) -> &'static str {
        match self {
            Analyst::Coverage => "coverage_reports (or [qa.coverage] report)",
            Analyst::Logs => "log_files",
            Analyst::Dependencies => {
                "dependencies = true (it reads the manifests of the working tree)"
            }
        }
    }
}

/// What one analyst reads: `given` (relative to the current directory), else the
/// configuration's (relative to the root). For the dependency watchdog these are OSV exports;
/// its main input is the working tree's manifests.
pub fn inputs(analyst: Analyst, given: &[PathBuf], config: &Config, root: &Path) -> Vec<PathBuf> {
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
        Analyst::Dependencies => config.discovery.osv_files.clone(),
    };
    configured.iter().map(|p| root.join(p)).collect()
}

/// Whether the analyst has anything to read: inputs, or (the watchdog, when enabled) a
/// manifest in the working tree.
pub fn has_inputs(analyst: Analyst, files: &[PathBuf], config: &Config, root: &Path) -> bool {
    match analyst {
        Analyst::Dependencies => {
            config.discovery.dependencies
                && (!files.is_empty() || !crate::deps::watchdog::manifests_in(root).is_empty())
        }
        _ => !files.is_empty(),
    }
}

/// The drafts of one analyst from its inputs; an input that cannot be read or parsed is an
/// error naming it. `overlord_dir` holds the registry answers' cache.
pub fn drafts(
    analyst: Analyst,
    files: &[PathBuf],
    config: &Config,
    root: &Path,
    overlord_dir: &Path,
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
        Analyst::Dependencies => {
            let mut osv = Vec::new();
            for p in files {
                osv.push((shown(p), read(p)?));
            }
            let registries = Registries::from_config(&config.deps, overlord_dir);
            let report = dependencies::scan(root, &registries, &osv)?;
            let repo = root
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            Ok(dependencies::tickets(&repo, &report.findings))
        }
    }
}

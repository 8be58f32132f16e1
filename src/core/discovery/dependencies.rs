//! The dependency watchdog as a discovery analyst: every finding of `deps::watchdog` (outdated,
//! yanked, deprecated, OSV-listed versions) becomes a `chore` ticket draft citing what the
//! manifests declare and what the registry said; the finding's id is the evidence key, so a
//! second run files nothing while the first ticket is open.

use std::path::Path;

use crate::core::tickets::TicketDraft;
use crate::deps::watchdog::{findings_to_ticket_drafts, Finding, FindingKind, WatchReport};
use crate::deps::Registries;
use crate::protocol::model::{TicketKind, TicketPriority};

/// Scans the working tree's manifests, adds the findings of the OSV exports given, and
/// returns the report. An OSV file that cannot be read or parsed is an error naming it.
pub fn scan(
    root: &Path,
    registries: &Registries,
    osv: &[(String, String)],
) -> Result<WatchReport, String> {
    let mut report = crate::deps::watchdog::scan(root, registries);
    for (shown, text) in osv {
        report
            .findings
            .extend(crate::deps::watchdog::osv_findings(root, text, shown)?);
    }
    Ok(report)
}

/// The findings as ticket drafts of the queue (deduplicated by the finding's id).
pub fn tickets(repo: &str, findings: &[Finding]) -> Vec<TicketDraft> {
    findings_to_ticket_drafts(repo, findings)
        .into_iter()
        .zip(findings)
        .map(|(seed, f)| {
            let priority = match seed.priority.as_str() {
                "high" => TicketPriority::High,
                "medium" => TicketPriority::Medium,
                _ => TicketPriority::Low,
            };
            let mut d = TicketDraft::new(TicketKind::Chore, priority, seed.title);
            let what = match f.kind {
                FindingKind::Outdated => "outdated",
                FindingKind::Yanked => "yanked",
                FindingKind::Deprecated => "deprecated",
                FindingKind::Vulnerable => "listed as vulnerable",
            };
            d.description = Some(format!(
                "The dependency watchdog found {} {} {what} (in use: {}).",
                f.ecosystem.registry(),
                f.name,
                f.current
            ));
            d.context.repo = Some(seed.context.repo);
            d.context.filepaths = seed.context.filepaths;
            d.evidence = f.evidence.clone();
            d.evidence_key = Some(f.id.clone());
            d.acceptance_criteria = seed
                .acceptance_criteria
                .into_iter()
                .map(serde_json::Value::from)
                .collect();
            d
        })
        .collect()
}

//! The coverage analyst: from a coverage report (LCOV or Cobertura, read by the QA engine's
//! parsers), every file under the threshold becomes a "write tests for <file>" ticket citing
//! its coverage and its uncovered line ranges.

use std::path::Path;

use crate::core::tickets::TicketDraft;
use crate::protocol::model::{TicketKind, TicketPriority};
use crate::qa::results::{Coverage, FileCoverage};

/// Reads a report, LCOV or Cobertura (told apart by its first characters).
pub fn read_report(text: &str) -> Result<Coverage, String> {
    let head = text.trim_start();
    let parsed = if head.starts_with('<') {
        crate::qa::parse::cobertura(text)
    } else {
        crate::qa::parse::lcov(text)
    };
    parsed.map_err(|e| e.to_string())
}

/// `10-17, 21, 30-31`.
pub fn ranges_text(ranges: &[[u64; 2]]) -> String {
    ranges
        .iter()
        .map(|[a, b]| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The file's path as the repository names it (a report's absolute path under `root` made
/// relative; others as written).
fn shown(path: &str, root: &Path) -> String {
    Path::new(path)
        .strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

fn percent(f: &FileCoverage) -> f64 {
    f.lines_covered as f64 * 100.0 / f.lines_total as f64
}

/// One draft per file with lines under `threshold` percent, least covered first.
pub fn tickets(coverage: &Coverage, threshold: f64, report: &str, root: &Path) -> Vec<TicketDraft> {
    let mut low: Vec<&FileCoverage> = coverage
        .files
        .iter()
        .filter(|f| f.lines_total > 0 && percent(f) < threshold)
        .collect();
    low.sort_by(|a, b| percent(a).total_cmp(&percent(b)));
    low.into_iter()
        .map(|f| {
            let path = shown(&f.path, root);
            let pct = percent(f);
            let priority = if pct < 30.0 {
                TicketPriority::High
            } else if pct < 60.0 {
                TicketPriority::Medium
            } else {
                TicketPriority::Low
            };
            let mut d = TicketDraft::new(
                TicketKind::Chore,
                priority,
                format!("write tests for {path}"),
            );
            d.description = Some(format!(
                "{path} has {} of {} lines covered ({pct:.1}%), under the {threshold}% threshold. Write tests that run the uncovered lines.",
                f.lines_covered, f.lines_total
            ));
            d.context.filepaths = vec![path.clone()];
            d.evidence = vec![
                format!(
                    "{path}: {} of {} lines covered ({pct:.1}%) in {report}",
                    f.lines_covered, f.lines_total
                ),
                if f.uncovered.is_empty() {
                    "uncovered lines: not listed by the report (totals only)".to_string()
                } else {
                    format!("uncovered lines: {}", ranges_text(&f.uncovered))
                },
            ];
            d.evidence_key = Some(format!("coverage:{path}"));
            d.acceptance_criteria = vec![serde_json::Value::from(format!(
                "{path} has at least {threshold}% line coverage"
            ))];
            d
        })
        .collect()
}

//! `overlord-tui metrics`: the metrics computed from the audit trail and the alerts they
//! raise, in words, as JSON or in the OpenMetrics text format (definitions in
//! docs/metrics.md).

use std::path::PathBuf;

use clap::Args;

use super::output::{fail, print_json, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{load_config, open_store_for_audit, workspace};
use crate::store::verify;

// No doc comment here: the subcommand's help is the `Sub::Metrics` variant's.
#[derive(Args, Debug)]
pub struct MetricsArgs {
    #[arg(long, conflicts_with = "openmetrics")]
    json: bool,
    /// The OpenMetrics text format (Prometheus, Grafana)
    #[arg(long)]
    openmetrics: bool,
    /// The span of time covered, ending now
    #[arg(long, default_value = "all", value_name = "24h|7d|checkpoint|all")]
    window: crate::metrics::Window,
    /// Also verify the audit trail (a broken chain is a CRITICAL alert)
    #[arg(long)]
    verify: bool,
    /// Compute as of this time (RFC 3339) instead of now, for reports and tests
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

pub(super) fn metrics(repo: &Option<PathBuf>, args: MetricsArgs) -> Outcome {
    use crate::metrics;
    let MetricsArgs {
        json,
        openmetrics,
        window,
        verify: verify_chain,
        now,
    } = args;
    let ws = workspace(repo)?;
    let store = open_store_for_audit(&ws)?;
    let config = load_config(&ws);
    // Read directly even when an owner runs: SQLite's WAL lets readers in beside the writer,
    // and the owner's socket serves the folded state, not the events. The metrics' running
    // fold is read from the store and caught up (docs/metrics.md, "How they are computed").
    let mut reader = crate::core::metrics_reader::MetricsReader::default();
    reader.catch_up(&store).map_err(fail)?;
    let corrupt_records = reader.unreadable();
    let now = now.unwrap_or_else(crate::core::now);
    let Some(figures) = reader.metrics(&store, window, &now).map_err(fail)? else {
        eprintln!("error: --now {now:?} is not an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)");
        return Err(Failed(2));
    };
    let mut facts = metrics::Facts {
        corrupt_records,
        ..Default::default()
    };
    if verify_chain {
        let report = verify::verify(&store).map_err(fail)?;
        facts.chain_ok = Some(report.ok);
        facts.chain_finding = report.findings.first().map(|f| f.to_string());
    }
    let alerts = metrics::evaluate(&figures, &config.metrics, &facts);
    if json {
        // Typed, not a `serde_json::Value`: no copy of the figures (at a million events the
        // spend by task alone is tens of thousands of entries).
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            metrics: &'a metrics::Metrics,
            alerts: &'a [metrics::Alert],
        }
        print_json(&Doc {
            schema_version: JSON_SCHEMA_VERSION,
            metrics: &figures,
            alerts: &alerts,
        })
    } else if openmetrics {
        print!("{}", metrics::openmetrics::render(&figures, &alerts));
        Ok(())
    } else {
        print!("{}", metrics::render_text(&figures, &alerts));
        Ok(())
    }
}

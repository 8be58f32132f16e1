//! The discovery loop on its schedule: with `[discovery] schedule` (a cron expression in UTC)
//! set, an owner runs every analyst that has inputs at each time it names and files their
//! drafts as tickets through the core (origin `system`), deduplicated against the open ones
//! like a `discover` run. Empty (the default): discovery runs on demand only.

use crate::config::Config;
use crate::core::discovery::analysts::{self, Analyst};
use crate::core::handle::Handle;
use crate::deps::cron::Cron;
use crate::protocol::{Command, Origin};
use crate::workspace::Workspace;

/// Each analyst's drafts as the `/ticket` command that files them (the inbox file written),
/// for every analyst with inputs; an analyst that fails is named with why.
pub fn commands(
    ws: &Workspace,
    config: &Config,
) -> Vec<(Analyst, Result<Option<Command>, String>)> {
    let mut out = Vec::new();
    for analyst in analysts::ALL {
        let files = analysts::inputs(analyst, &[], config, &ws.root);
        if !analysts::has_inputs(analyst, &files, config, &ws.root) {
            continue;
        }
        let result = analysts::drafts(analyst, &files, config, &ws.root, &ws.dir)
            .and_then(|d| super::drafts_command(ws, analyst.name(), &d).map(|c| c.map(|(_, c)| c)));
        out.push((analyst, result));
    }
    out
}

/// Runs until `stop`: the analysts at each time `[discovery] schedule` names.
pub async fn run(
    ws: Workspace,
    config: Config,
    handle: Handle,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(expr) = crate::config::non_empty(&config.discovery.schedule) else {
        return;
    };
    let cron = match Cron::parse(&expr) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "[discovery] schedule: discovery will not run on a schedule");
            return;
        }
    };
    while crate::core::clock::sleep_until_next(&cron, &mut stop).await {
        let (w, c) = (ws.clone(), config.clone());
        let ran = match tokio::task::spawn_blocking(move || commands(&w, &c)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "discovery failed");
                continue;
            }
        };
        for (analyst, result) in ran {
            match result {
                Ok(None) => tracing::info!(analyst = analyst.name(), "discovery: nothing found"),
                Ok(Some(command)) => {
                    let r = handle.submit(Origin::System, command).await;
                    tracing::info!(
                        analyst = analyst.name(),
                        ok = r.ok,
                        "discovery: {}",
                        r.message
                    );
                }
                Err(e) => {
                    tracing::error!(analyst = analyst.name(), error = %e, "discovery: the analyst failed")
                }
            }
        }
    }
}

//! Running the janitor for a repository: once (`overlord-tui janitor`), or on its schedule in
//! an owner (`[janitor] enabled` and `schedule`, a cron expression in UTC), each run on a
//! blocking thread; the work itself is `deps::janitor`.

use crate::config::Config;
use crate::deps::cron::Cron;
use crate::deps::janitor::{Janitor, JanitorReport};
use crate::deps::Registries;
use crate::workspace::Workspace;

/// One janitor run with the repository's configuration.
pub fn run_once(ws: &Workspace, config: &Config) -> Result<JanitorReport, String> {
    let registries = Registries::from_config(&config.deps, &ws.dir);
    let base = git2::Repository::open(&ws.root)
        .ok()
        .and_then(|r| crate::git::detect_main(&r, &config.git.main).ok())
        .unwrap_or_else(|| "main".to_string());
    let test_command = crate::config::non_empty(&config.janitor.test_command)
        .or_else(|| super::qa::tests_command(&config.qa, &ws.root))
        .ok_or("no test command: set [janitor] test_command (or [qa.tests] command)")?;
    Janitor {
        root: &ws.root,
        overlord_dir: &ws.dir,
        base: &base,
        branch: &config.janitor.branch,
        test_command: &test_command,
        update_command: &config.janitor.update_command,
        registries: &registries,
    }
    .run()
}

/// Runs until `stop`: the janitor at each time `[janitor] schedule` names, when enabled.
pub async fn run(ws: Workspace, config: Config, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !config.janitor.enabled {
        return;
    }
    let cron = match Cron::parse(&config.janitor.schedule) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "[janitor] schedule: the janitor will not run on a schedule");
            return;
        }
    };
    loop {
        let now = time::OffsetDateTime::now_utc();
        let Some(next) = cron.next_after(now) else {
            return;
        };
        let wait = std::time::Duration::try_from(next - now).unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        }
        let (ws, config) = (ws.clone(), config.clone());
        match tokio::task::spawn_blocking(move || run_once(&ws, &config)).await {
            Ok(Ok(r)) => tracing::info!(
                branch = %r.branch,
                updates = r.updates.len(),
                "the janitor ran; report in {}",
                r.report_file
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "the janitor could not run"),
            Err(e) => tracing::error!(error = %e, "the janitor failed"),
        }
    }
}

//! Running the janitor for a repository: once (`overlord-tui janitor`), or on its schedule in
//! an owner (`[janitor] enabled` and `schedule`, a cron expression in UTC), each run on a
//! blocking thread; the work itself is `deps::janitor`. Each run is recorded (`janitor_ran`,
//! for the morning report), and kept updates are handed in as a finished plan task on its
//! own task branch, so they wait for Save and its QA gate like any agent's work.

use crate::config::Config;
use crate::core::engine::Core;
use crate::deps::cron::Cron;
use crate::deps::janitor::{Janitor, JanitorReport, Outcome, Update};
use crate::deps::Registries;
use crate::protocol::model::{JanitorRun, Role, Task, TaskStatus};
use crate::protocol::EventKind;
use crate::workspace::Workspace;

/// One janitor run with the repository's configuration, recorded and handed in: the task
/// that carries the kept updates (if any) with the report.
pub fn run_once(
    ws: &Workspace,
    config: &Config,
) -> Result<(JanitorReport, Option<String>), String> {
    let report = janitor_run(ws, config)?;
    let task = hand_in(ws, config, &report)?;
    Ok((report, task))
}

fn janitor_run(ws: &Workspace, config: &Config) -> Result<JanitorReport, String> {
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
    while crate::core::clock::sleep_until_next(&cron, &mut stop).await {
        let (ws, config) = (ws.clone(), config.clone());
        match tokio::task::spawn_blocking(move || run_once(&ws, &config)).await {
            Ok(Ok((r, task))) => tracing::info!(
                branch = %r.branch,
                updates = r.updates.len(),
                task = task.as_deref().unwrap_or("none"),
                "the janitor ran; report in {}",
                r.report_file
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "the janitor could not run"),
            Err(e) => tracing::error!(error = %e, "the janitor failed"),
        }
    }
}

/// Records the run; when it kept updates, points a new task branch of the git session at the
/// janitor's branch and adds a finished task for it (in the `tickets` phase), which the next
/// Save (or continuous integration in auto mode) takes through the QA gate.
fn hand_in(
    ws: &Workspace,
    config: &Config,
    report: &JanitorReport,
) -> Result<Option<String>, String> {
    let line = |u: &Update| format!("{} {} → {}", u.name, u.from, u.to);
    let with_why = |u: &Update| format!("{}: {}", line(u), u.why);
    let of = |o: Outcome| report.updates.iter().filter(move |u| u.outcome == o);
    let kept: Vec<String> = of(Outcome::Kept).map(line).collect();
    let repo = crate::git::open(&ws.root).map_err(|e| e.to_string())?;
    let tip = crate::git::branch_tip(&repo, &report.branch).map_err(|e| e.to_string())?;
    let mut core = Core::open(ws, config).map_err(|e| e.to_string())?;
    let mut run = JanitorRun {
        branch: report.branch.clone(),
        tip: tip.map(|t| t.to_string()),
        kept: kept.clone(),
        reverted: of(Outcome::Reverted).map(with_why).collect(),
        skipped: of(Outcome::Skipped).map(with_why).collect(),
        unknown: report.unknown.len(),
        report_file: ws.relative(std::path::Path::new(&report.report_file)),
        task: None,
    };
    let mut events = Vec::new();
    let mut task = None;
    if let (false, Some(tip)) = (kept.is_empty(), tip) {
        let id = format!(
            "janitor-{}",
            crate::core::now()
                .chars()
                .filter(char::is_ascii_digit)
                .take(14)
                .collect::<String>()
        );
        let session = core.git_session()?;
        let branch = session.task_branch(&id);
        let commit = repo.find_commit(tip).map_err(|e| e.to_string())?;
        repo.branch(&branch, &commit, false)
            .map_err(|e| format!("cannot make the task branch {branch}: {e}"))?;
        events.push(EventKind::GitAction {
            action: "branch".to_string(),
            reference: format!("refs/heads/{branch}"),
            old: None,
            new: Some(tip.to_string()),
            source: Some(report.branch.clone()),
            trigger: "janitor".to_string(),
            detail: format!("the janitor's updates handed in as {id}"),
        });
        run.task = Some(id.clone());
        task = Some(janitor_task(&id, &kept, &run.report_file));
    }
    let id = run.task.clone();
    events.push(EventKind::JanitorRan { run, task });
    core.emit("janitor", events).map_err(|e| e.to_string())?;
    Ok(id)
}

/// The finished task that carries the kept updates.
fn janitor_task(id: &str, kept: &[String], report: &str) -> Task {
    let mut task = Task::new(
        id,
        format!("Dependency updates by the janitor: {}", kept.join(", ")),
        format!(
            "The janitor updated each outdated dependency one at a time and kept these, each with the project's tests green:\n{}\nReport: {report}",
            kept.iter().map(|k| format!("- {k}\n")).collect::<String>()
        ),
        Role::Implementer,
        "low",
    );
    task.acceptance_criteria = vec!["the project's tests pass with every kept update".to_string()];
    task.status = TaskStatus::Done;
    task.owner = Some("janitor".to_string());
    task
}

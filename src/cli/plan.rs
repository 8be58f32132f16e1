//! `overlord-tui plan import|show`: import a plan from a TodoList JSON file, or show its
//! phases and tasks.

use std::path::PathBuf;

use clap::Subcommand;

use super::cmd::run_command;
use super::output::{fail, print_json, Outcome};
use super::session::{workspace, Session};
use crate::protocol::Command;

#[derive(Subcommand, Debug)]
pub enum PlanCmd {
    /// Import a plan from a TodoList JSON file (seed 003 shape)
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Ask the planner role's agent (`[roles.planner]`) for a plan for GOAL: the plan it
    /// writes is validated (errors fed back, `[planner] max_attempts` runs at most) and
    /// imported, awaiting the human's approval
    New {
        goal: String,
        #[arg(long)]
        json: bool,
    },
    /// Show the plan: phases and tasks with role, status and dependencies
    Show {
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn plan(repo: &Option<PathBuf>, cmd: PlanCmd) -> Outcome {
    match cmd {
        PlanCmd::Import { file, json } => import(repo, file, json),
        PlanCmd::Show { json } => show(repo, json),
        PlanCmd::New { goal, json } => new(repo, &goal, json),
    }
}

fn new(repo: &Option<PathBuf>, goal: &str, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let config = super::session::load_config(&ws);
    let self_exe = std::env::current_exe().map_err(fail)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    let planned = rt
        .block_on(crate::runtime::planner::plan_new(
            &ws, &config, goal, &self_exe,
        ))
        .map_err(fail)?;
    if !json {
        println!(
            "the planner wrote a valid plan in {} (attempt {})",
            ws.relative(&planned.path),
            planned.attempts
        );
    }
    run_command(
        repo,
        Command::ImportPlan {
            path: planned.path.display().to_string(),
        },
        json,
    )
}

fn import(repo: &Option<PathBuf>, file: PathBuf, json: bool) -> Outcome {
    let cwd = std::env::current_dir().map_err(fail)?;
    let path = if file.is_absolute() {
        file
    } else {
        cwd.join(file)
    };
    run_command(
        repo,
        Command::ImportPlan {
            path: path.display().to_string(),
        },
        json,
    )
}

fn show(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let state = Session::open(&ws)?.state()?;
    if json {
        return print_json(&state.plan);
    }
    let Some(plan) = &state.plan else {
        println!("No plan yet: overlord-tui plan import PLAN.json");
        return Ok(());
    };
    println!("{} ({})", plan.title, plan.id);
    let pending: Vec<_> = state.pending_approvals().collect();
    for a in pending.iter().filter(|a| a.subject == plan.id) {
        println!("  awaiting approval: {} — /approve {}", a.summary, a.id);
    }
    for phase in &plan.phases {
        let promoted = if phase.promoted_at.is_some() {
            " [promoted]"
        } else {
            ""
        };
        println!("\n{} – {}{promoted}", phase.id, phase.name);
        for t in &phase.tasks {
            let deps = if t.dependencies.is_empty() {
                String::new()
            } else {
                format!("  after {}", t.dependencies.join(", "))
            };
            println!(
                "  [{:<12}] {:<16} {:<12} {}{deps}",
                t.status.as_str(),
                t.id,
                t.role.as_str(),
                t.title
            );
        }
    }
    Ok(())
}

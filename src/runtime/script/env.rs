//! What the adapter told the scripted agent through its environment (`OVERLORD_*`), and which
//! script in the script folder is this agent's.

use std::path::{Path, PathBuf};

use crate::protocol::model::Role;

/// What the adapter told the agent through its environment (`OVERLORD_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEnv {
    /// `OVERLORD_AGENT`: the agent's id (`implementer-1`).
    pub agent: Option<String>,
    /// `OVERLORD_TASK`: the task it works on.
    pub task: Option<String>,
    /// `OVERLORD_ROLE`.
    pub role: Option<Role>,
    /// `OVERLORD_ATTEMPT`: the 1-based run number of this task (1 when unset).
    pub attempt: u32,
    /// `OVERLORD_REPO`: the repository root.
    pub repo: Option<PathBuf>,
}

impl Default for AgentEnv {
    fn default() -> AgentEnv {
        AgentEnv {
            agent: None,
            task: None,
            role: None,
            attempt: 1,
            repo: None,
        }
    }
}

impl AgentEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<AgentEnv, String> {
        AgentEnv::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get`; an empty variable counts as unset.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<AgentEnv, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let role = match var("OVERLORD_ROLE") {
            Some(r) => Some(
                r.parse::<Role>()
                    .map_err(|e| format!("OVERLORD_ROLE: {e}"))?,
            ),
            None => None,
        };
        let attempt = match var("OVERLORD_ATTEMPT") {
            Some(a) => match a.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(format!(
                        "OVERLORD_ATTEMPT must be a run number from 1 up, not '{a}'"
                    ))
                }
            },
            None => 1,
        };
        Ok(AgentEnv {
            agent: var("OVERLORD_AGENT"),
            task: var("OVERLORD_TASK"),
            role,
            attempt,
            repo: var("OVERLORD_REPO").map(PathBuf::from),
        })
    }

    /// The session id of a first run: `script-<task>-<attempt>`.
    pub fn session_id(&self) -> String {
        format!(
            "script-{}-{}",
            self.task.as_deref().unwrap_or("none"),
            self.attempt
        )
    }
}

/// Finds the script of this agent in `dir`: `<task>.toml`, then `<role>.toml`, then
/// `default.toml`. `dir` is relative to `$OVERLORD_REPO` when set, else to `cwd`.
pub fn find_script(dir: &Path, env: &AgentEnv, cwd: &Path) -> Result<PathBuf, String> {
    let base = env.repo.as_deref().unwrap_or(cwd);
    let folder = base.join(dir);
    let mut names = Vec::new();
    if let Some(task) = env.task.as_deref().filter(|t| is_file_name(t)) {
        names.push(format!("{task}.toml"));
    }
    if let Some(role) = env.role {
        names.push(format!("{}.toml", role.as_str()));
    }
    names.push("default.toml".into());
    if !folder.is_dir() {
        return Err(format!(
            "the script folder {} does not exist (looked for {})",
            folder.display(),
            names.join(", ")
        ));
    }
    for name in &names {
        let candidate = folder.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "no script for this agent in {}: looked for {}",
        folder.display(),
        names.join(", ")
    ))
}

/// A task id usable as a file name (no separators, not hidden, not `..`).
fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 200
}

//! Where a subcommand works and with what: the repository (`--repo` or the current
//! directory), its configuration, who the CLI speaks for, and the session with the core — the
//! running owner over its socket, or the store opened here.

use std::path::PathBuf;

use super::output::{fail, Failed};
use crate::config::Config;
use crate::core::ipc::Client;
use crate::core::Core;
use crate::protocol::{Command, Origin, Reply, State};
use crate::store::Store;
use crate::workspace::Workspace;

/// Who the CLI speaks for: the agent named by the adapter's environment, else the user.
/// Fails closed: `OVERLORD_AGENT` set at all — blank or not valid UTF-8 included — is an agent
/// (a blank one is `unnamed-agent`), never the human.
pub(super) fn origin() -> Origin {
    if let Some(agent) = std::env::var_os("OVERLORD_AGENT") {
        let agent = agent.to_string_lossy().trim().to_string();
        let agent = if agent.is_empty() {
            "unnamed-agent".to_string()
        } else {
            agent
        };
        let role = std::env::var("OVERLORD_ROLE")
            .ok()
            .and_then(|r| r.parse().ok());
        return Origin::Agent { agent, role };
    }
    crate::core::identity::cli_user()
}

/// Carries out a command in this process (no owner runs). Who speaks is checked as the owner
/// would: this process's ancestry against the agents the store recorded, so an agent's
/// process is that agent whatever its environment says.
pub(super) fn execute_here(core: &mut Core, command: Command) -> Reply {
    let who = crate::core::identity::local(core.state(), origin());
    let (reply, job) = core.execute_as(who, command);
    match job {
        None => reply,
        Some(job) => core.finish_job(reply, job),
    }
}

/// Talks to the running owner if there is one, otherwise opens the store itself.
pub(super) enum Session {
    Remote(Client),
    Local(Box<Core>),
}

impl Session {
    pub(super) fn open(ws: &Workspace) -> Result<Session, Failed> {
        Session::open_with(ws, Core::open)
    }

    /// A session to submit `command`: with no owner running, a command that reads no concern
    /// opens the store without them (`Core::open_lean`), so a `concern raise` costs the same
    /// with ten thousand concerns open as with none.
    pub(super) fn open_for(ws: &Workspace, command: &Command) -> Result<Session, Failed> {
        match crate::core::reads_concerns(command) {
            true => Session::open(ws),
            false => Session::open_with(ws, Core::open_lean),
        }
    }

    fn open_with(
        ws: &Workspace,
        open: fn(&Workspace, &Config) -> Result<Core, crate::core::CoreError>,
    ) -> Result<Session, Failed> {
        ws.require_initialized().map_err(fail)?;
        if let Some(client) = Client::connect(&ws.socket_path()) {
            return Ok(Session::Remote(client));
        }
        let config = load_config(ws);
        open(ws, &config)
            .map(|c| Session::Local(Box::new(c)))
            .map_err(fail)
    }

    pub(super) fn submit(&mut self, command: Command) -> Result<Reply, Failed> {
        match self {
            Session::Remote(c) => c.submit(origin(), command).map_err(fail),
            Session::Local(core) => Ok(execute_here(core, command)),
        }
    }

    /// Why the store opened here cannot be written (read-only, or records lost): reads
    /// still work. A running owner answers for its own store.
    pub(super) fn write_blocker(&self) -> Option<crate::store::StoreError> {
        match self {
            Session::Remote(_) => None,
            Session::Local(core) => core.store().write_blocker(),
        }
    }

    /// The live state to show (`status --json`), with the timeline's newest
    /// [`RECENT_CHECKPOINTS`](crate::store::snapshot::RECENT_CHECKPOINTS) checkpoints only;
    /// how many older ones there are; and why the store cannot be written, if it cannot (see
    /// `write_blocker`). Without an owner the store is opened here without the older
    /// checkpoints (`Core::open_recent`): what is read does not grow with the timeline.
    pub(super) fn live_state(
        ws: &Workspace,
    ) -> Result<(State, usize, Option<crate::store::StoreError>), Failed> {
        ws.require_initialized().map_err(fail)?;
        let (mut state, older, blocker) = match Client::connect(&ws.socket_path()) {
            Some(mut client) => {
                let (state, older) = client.recent_snapshot().map_err(fail)?;
                (state, older, None)
            }
            None => {
                let config = load_config(ws);
                let (mut core, older) = Core::open_recent(ws, &config).map_err(fail)?;
                core.refresh().map_err(fail)?;
                let blocker = core.store().write_blocker();
                (core.into_state(), older, blocker)
            }
        };
        // The events after the snapshot may have added some.
        let extra = crate::store::snapshot::keep_recent_checkpoints(&mut state);
        Ok((state, older + extra, blocker))
    }

    pub(super) fn state(&mut self) -> Result<State, Failed> {
        match self {
            Session::Remote(c) => c.snapshot().map_err(fail),
            Session::Local(core) => {
                if core.is_lean() {
                    **core = Core::open(core.workspace(), core.config()).map_err(fail)?;
                }
                core.refresh().map_err(fail)?;
                Ok(core.state().clone())
            }
        }
    }
}

pub(super) fn load_config(ws: &Workspace) -> Config {
    load_config_warning(ws).0
}

/// The configuration, and the warning about a bad file (also printed on stderr).
pub(super) fn load_config_warning(ws: &Workspace) -> (Config, Option<String>) {
    let (config, warning) = Config::load(&ws.config_path(), ".overlord/config.toml");
    let warning = warning.map(|w| w.to_string());
    if let Some(w) = &warning {
        eprintln!("warning: {w}");
    }
    (config, warning)
}

pub(super) fn workspace(repo: &Option<PathBuf>) -> Result<Workspace, Failed> {
    locate(repo).map_err(fail)
}

/// The repository `--repo` names, or the one holding the current directory; why not, when
/// there is none.
pub(super) fn locate(repo: &Option<PathBuf>) -> Result<Workspace, String> {
    let start = match repo {
        Some(p) => p.clone(),
        None => std::env::current_dir().map_err(|e| e.to_string())?,
    };
    if !start.exists() {
        return Err(format!("{} does not exist", start.display()));
    }
    Workspace::discover(&start).map_err(|e| e.to_string())
}

/// The store opened read-only, as it is (no repair): for `audit` and `metrics`.
pub(super) fn open_store_for_audit(ws: &Workspace) -> Result<Store, Failed> {
    ws.require_initialized().map_err(fail)?;
    Store::open_without_repair(&ws.store_paths()).map_err(fail)
}

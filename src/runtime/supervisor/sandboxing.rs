//! The sandbox of the supervisor's runs (`runtime::sandbox`): each CLI is started through
//! `overlord-tui sandbox-exec` with the policy of its run; on a kernel without Landlock,
//! `[agents] sandbox = "enforce"` holds every start (and tells the human once, as a concern)
//! and `"best_effort"` starts them unconfined; refused writes the CLI reports become activity
//! lines.

use super::books::Supervisor;
use crate::agent::adapter::{AdapterSpec, Invocation};
use crate::config::SandboxMode;
use crate::git::Protection;
use crate::protocol::model::{Role, Severity};
use crate::protocol::ConcernDraft;
use crate::runtime::sandbox::{self, Denials, Grants};

impl Supervisor {
    /// Whether no agent may start: `enforce` on a kernel without Landlock. The human is told
    /// once, with what to do; nothing fails, the tasks wait.
    pub(super) async fn sandbox_holds(&mut self) -> bool {
        if self.config.agents.sandbox != SandboxMode::Enforce || self.sandbox.support.available() {
            return false;
        }
        if !self.sandbox.told {
            self.sandbox.told = true;
            let warning =
                sandbox::standing_warning(&self.config, &self.sandbox.support).unwrap_or_default();
            tracing::warn!("{warning}");
            self.concern(ConcernDraft {
                from: Some(Role::ProjectManager),
                to: Some(Role::Human),
                severity: Severity::Critical,
                category: "sandbox_unavailable".to_string(),
                summary: "no agent is started: this kernel has no Landlock and [agents] sandbox = \"enforce\"".to_string(),
                details: Some(warning),
                task: None,
            })
            .await;
        }
        true
    }

    /// The CLI's invocation through the sandbox wrapper, per `[agents] sandbox`; the error
    /// says why the run must not start.
    pub(super) fn sandboxed(
        &mut self,
        agent: &str,
        spec: &AdapterSpec,
        inv: Invocation,
        review_out: Option<&std::path::Path>,
    ) -> Result<Invocation, String> {
        self.sandbox.denials.remove(agent);
        let best_effort = match (self.config.agents.sandbox, self.sandbox.support.available()) {
            (SandboxMode::Off, _) => return Ok(inv),
            (SandboxMode::Enforce, false) => {
                return Err(
                    sandbox::standing_warning(&self.config, &self.sandbox.support)
                        .unwrap_or_default(),
                )
            }
            (SandboxMode::BestEffort, _) => true,
            (SandboxMode::Enforce, true) => false,
        };
        let inv = if self.sandbox.support.available() {
            spec.nested_in_landlock(inv)
        } else {
            inv
        };
        let protection = Protection {
            main: self
                .state
                .git
                .as_ref()
                .map(|g| g.main.clone())
                .or_else(|| crate::config::non_empty(&self.config.git.main))
                .unwrap_or_else(|| "main".to_string()),
            branches: self.config.git.protected.clone(),
        };
        let policy = sandbox::policy_for(&Grants {
            ws: &self.ws,
            workdir: &inv.cwd,
            agent,
            protection: &protection,
            state: &spec.state_dirs,
            extra: &self.config.agents.sandbox_extra_write,
            net_ports: &self.config.agents.sandbox_net_ports,
            best_effort,
            owner_pid: Some(std::process::id()),
            only_write: review_out.and_then(|p| p.parent()),
        })?;
        self.sandbox
            .denials
            .insert(agent.to_string(), Denials::new(&self.ws, &inv.cwd, &policy));
        sandbox::wrap(inv, &policy, &self.self_exe)
    }

    /// A line the agent printed that reports a write the sandbox refused: an activity line
    /// ("sandbox denied write to .overlord/overlord.db"), written at once.
    pub(super) async fn sandbox_denial(&mut self, agent: &str, line: &str) {
        let Some(text) = self
            .sandbox
            .denials
            .get_mut(agent)
            .and_then(|d| d.check(line))
        else {
            return;
        };
        tracing::warn!(agent, "{text}");
        self.agents
            .entry(agent.to_string())
            .or_default()
            .last_output = Some(text);
        self.flush().await;
    }
}

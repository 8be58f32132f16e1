//! Endpoints out of reach: an agent whose CLI keeps saying it cannot reach its model API
//! (codex's `Reconnecting... waiting for network`, a refused connection, `fetch failed`) for
//! `[agents] unreachable_secs` without any progress is reported to the human with the adapter
//! and the endpoint, instead of looking busy until the task's timeout. The clock runs across
//! the agent's runs (a CLI that gives up and is retried is still cut off) and stops at the
//! first sign of progress (text, a tool, usage, a successful end).

use std::time::{Duration, Instant};

use super::books::{Cutoff, Supervisor};
use crate::agent::adapter::{AdapterKind, AdapterSpec};
use crate::agent::classify::http_status;
use crate::agent::endpoint::unreachable;
use crate::agent::AgentEvent;
use crate::protocol::model::{Role, Severity};
use crate::protocol::ConcernDraft;

impl Supervisor {
    /// Follows one event of `agent`'s run on `adapter`: a sign of an unreachable endpoint
    /// starts (or continues) the agent's clock, progress stops it.
    pub(super) fn note_reach(&mut self, agent: &str, adapter: &str, event: &AgentEvent) {
        let said = match event {
            AgentEvent::Warning { message, raw, .. }
                if unreachable(message) || unreachable(raw) =>
            {
                Some(message.clone())
            }
            // An HTTP answer (a 429, a 5xx): the endpoint is reached.
            AgentEvent::Warning { message, .. } if http_status(message).is_some() => None,
            AgentEvent::Finished {
                ok: false,
                error: Some(e),
                ..
            } => unreachable(&e.message).then(|| e.message.clone()),
            AgentEvent::Started { .. } | AgentEvent::Warning { .. } => return,
            AgentEvent::Finished { ok: false, .. } => return,
            _ => None,
        };
        match said {
            Some(line) => {
                let c = self
                    .cutoffs
                    .entry(agent.to_string())
                    .or_insert_with(|| Cutoff {
                        since: Instant::now(),
                        adapter: adapter.to_string(),
                        line: String::new(),
                        told: false,
                    });
                c.adapter = adapter.to_string();
                c.line = super::text::first_line(&line, 300);
            }
            None => {
                self.cutoffs.remove(agent);
            }
        }
    }

    /// On the clock's tick: an agent cut off for `[agents] unreachable_secs` is reported to
    /// the human, once until it makes progress again.
    pub(super) async fn watch_reach(&mut self) {
        let secs = self.config.agents.unreachable_secs;
        if secs == 0 {
            return;
        }
        let limit = Duration::from_secs(secs);
        let due: Vec<(String, Cutoff)> = self
            .cutoffs
            .iter_mut()
            .filter(|(_, c)| !c.told && c.since.elapsed() >= limit)
            .map(|(a, c)| {
                c.told = true;
                (a.clone(), c.clone())
            })
            .collect();
        for (agent, c) in due {
            let endpoint = self
                .adapters
                .get(&c.adapter)
                .map(endpoint_of)
                .unwrap_or_else(|| "its model API".into());
            let (role, task) = self
                .state
                .agents
                .get(&agent)
                .map(|a| (a.role, a.task.clone()))
                .unwrap_or((Role::Implementer, None));
            self.concern(ConcernDraft {
                from: Some(role),
                to: Some(Role::Human),
                severity: Severity::Critical,
                category: "endpoint_unreachable".to_string(),
                summary: format!(
                    "{agent}'s CLI (adapter {}) cannot reach {endpoint}: no answer for {}s",
                    c.adapter,
                    c.since.elapsed().as_secs()
                ),
                details: Some(format!(
                    "It keeps saying: {}\nCheck that the endpoint is up and reachable from this machine (for a local server: that it runs, and [adapters.{}] base_url). The run goes on retrying until it succeeds or times out; its log is in .overlord/logs/agents/{agent}/.",
                    c.line, c.adapter
                )),
                task,
            })
            .await;
        }
    }
}

/// The endpoint an adapter talks to, for the human: its `base_url`, else the CLI's own.
fn endpoint_of(spec: &AdapterSpec) -> String {
    if let Some(url) = &spec.endpoint.base_url {
        return url.clone();
    }
    match spec.kind {
        AdapterKind::Codex => "its default endpoint (api.openai.com; no base_url set)".into(),
        AdapterKind::Claude => "its default endpoint (api.anthropic.com; no base_url set)".into(),
        AdapterKind::Gemini => {
            "its default endpoint (generativelanguage.googleapis.com; no base_url set)".into()
        }
        _ => "its model API".into(),
    }
}

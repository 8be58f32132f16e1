//! An `acp` agent's permission request that a rule sends to the human (issue 26): the
//! client's `permission asked [pN]: …` note becomes a concern to the human ("implementer-2 asks
//! to run `rm -rf build/`", category [`CATEGORY`]) raised as the agent; when a human resolves
//! it with one of the three answers (`/resolve C-n allow once | allow for the session |
//! reject`, checked by the core), the answer is written to the waiting client's stdin with who
//! gave it. A request that ends otherwise — expired, cancelled, the run over — has its concern
//! closed by Overlord with a note, so that nobody answers a stale question.

use super::books::{Ask, Supervisor};
use super::core_link::{agent_origin, system};
use crate::agent::acp_map::{parse_asked, parse_decided};
use crate::protocol::model::{ConcernId, ConcernStatus, Role, Severity};
use crate::protocol::permission::{Answer, ANSWERS, CATEGORY};
use crate::protocol::report::ReplyData;
use crate::protocol::{Command, ConcernDraft, Event};
use crate::runtime::process::Control;

/// The verb of the concern's summary for a tool kind.
fn verb(kind: &str) -> &'static str {
    match kind {
        "execute" => "run",
        "edit" => "edit",
        "delete" => "delete",
        "move" => "move",
        "fetch" => "fetch",
        "read" => "read",
        "search" => "search",
        _ => "use",
    }
}

/// The line the client reads: the answer to its request, who gave it, and the run's key.
fn answer_line(key: &str, request: &str, answer: Answer, by: &str) -> String {
    serde_json::json!({"key": key, "permission": request, "answer": answer, "by": by}).to_string()
}

/// A fresh key for an acp run's answers (16 random bytes, hex).
pub(super) fn answer_key() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // No randomness to be had: a key from the clock and the process, still unknown to
        // the agent (which is not started yet).
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = (t ^ u128::from(std::process::id()) << 64).to_le_bytes();
    }
    hex::encode(bytes)
}

/// The first line of an acp client's stdin: the key its answers will carry.
pub(super) fn key_line(key: &str) -> String {
    serde_json::json!({ "key": key }).to_string()
}

impl Supervisor {
    /// A permission note of an `acp` run: a request asked of the human, or the end of one.
    pub(super) async fn on_permission_note(&mut self, agent: &str, run: u64, message: &str) {
        if let Some((request, kind, what)) = parse_asked(message) {
            self.ask_human(agent, run, request, &kind, &what).await;
        } else if let Some((request, _)) = parse_decided(message) {
            let cid = self
                .asks
                .iter()
                .find(|(_, a)| a.agent == agent && a.run == run && a.request == request)
                .map(|(c, _)| *c);
            if let Some(cid) = cid {
                let note = if message.contains("(no answer within") {
                    format!("expired, rejected without an answer — {message}")
                } else {
                    format!("ended without an answer — {message}")
                };
                self.close_ask(cid, note).await;
            }
        }
    }

    async fn ask_human(&mut self, agent: &str, run: u64, request: String, kind: &str, what: &str) {
        let a = self.state.agents.get(agent);
        let role = a.map(|a| a.role).unwrap_or(Role::Implementer);
        let task = a.and_then(|a| a.task.clone());
        let draft = ConcernDraft {
            from: Some(role),
            to: Some(Role::Human),
            severity: Severity::Warning,
            category: CATEGORY.into(),
            summary: format!("{agent} asks to {} {what}", verb(kind)),
            details: Some(format!(
                "{agent}'s agent waits for this answer (request {request}, tool kind {kind}). Answer with the note of /resolve: {ANSWERS} — \"allow for the session\" also allows identical requests of this run without asking. Unanswered for {} s, it is rejected.",
                self.config.agents.permission_timeout_secs
            )),
            task,
        };
        let reply = self
            .submit(agent_origin(agent, role), Command::RaiseConcern(draft))
            .await;
        match reply.data {
            ReplyData::Concern(c) if reply.ok => {
                self.asks.insert(
                    c.id,
                    Ask {
                        agent: agent.to_string(),
                        run,
                        request,
                    },
                );
            }
            _ => {
                // Nobody can be asked: the request is rejected now rather than left waiting.
                let by = format!(
                    "overlord (the concern could not be raised: {})",
                    reply.message
                );
                self.write_answer(agent, run, &request, Answer::Reject, &by);
            }
        }
    }

    fn write_answer(&self, agent: &str, run: u64, request: &str, answer: Answer, by: &str) {
        if let Some(slot) = self.runs.get(agent).filter(|s| s.id == run) {
            let key = slot.answer_key.as_deref().unwrap_or_default();
            let _ = slot
                .control
                .send(Control::Input(answer_line(key, request, answer, by)));
        }
    }

    /// A concern resolved: when it is a waiting request's and a human resolved it, the answer
    /// goes to the client (the core let through only the three answers).
    pub(super) fn on_permission_answered(
        &mut self,
        ev: &Event,
        cid: ConcernId,
        note: Option<&str>,
    ) {
        if ev.actor == system().actor() {
            return;
        }
        let Some(ask) = self.asks.remove(&cid) else {
            return;
        };
        let answer = Answer::parse(note.unwrap_or_default()).unwrap_or(Answer::Reject);
        self.write_answer(&ask.agent, ask.run, &ask.request, answer, &ev.actor);
    }

    /// Closes a waiting request's concern (still open) with Overlord's note.
    async fn close_ask(&mut self, cid: ConcernId, note: String) {
        self.asks.remove(&cid);
        let open = self
            .state
            .concerns
            .get(&cid)
            .is_some_and(|c| c.status != ConcernStatus::Resolved);
        if open {
            self.submit(
                system(),
                Command::Resolve {
                    concern: cid,
                    note: Some(note),
                },
            )
            .await;
        }
    }

    /// A run ended: the requests it still waited on are closed.
    pub(super) async fn close_asks_of(&mut self, agent: &str, run: u64) {
        let ended: Vec<ConcernId> = self
            .asks
            .iter()
            .filter(|(_, a)| a.agent == agent && a.run == run)
            .map(|(c, _)| *c)
            .collect();
        for cid in ended {
            self.close_ask(
                cid,
                "ended without an answer: the agent's run is over".into(),
            )
            .await;
        }
    }
}

//! The one event type of all agent adapters: whatever CLI runs (Codex, Claude Code, Gemini
//! CLI, aider), its output becomes this sequence of [`AgentEvent`]s.
//!
//! The shape of a run, for every parser:
//!
//! - [`Started`](AgentEvent::Started) opens a run (with the id to resume the session later);
//! - then, in the order the CLI reported them: tools ([`ToolStarted`](AgentEvent::ToolStarted)
//!   always comes before the [`ToolFinished`](AgentEvent::ToolFinished) of the same id), text,
//!   reasoning, usage and warnings;
//! - [`Finished`](AgentEvent::Finished) closes the run, exactly once per run: from the CLI's
//!   own final event when it printed one, else from the parser's `finish` (end of stream).
//!
//! Every event keeps the raw line it came from, for the log view. One line can give several
//! events (Claude's final `result` gives `Usage` then `Finished`), each with a copy of the line.
//! Events the parser made up itself (at end of stream, or the whole text of a Gemini message
//! put together from its deltas) have an empty `raw`.

use serde::{Deserialize, Serialize};

use super::usage::Usage;

/// One thing an agent CLI reported, in the same terms for every CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// A run started. `session_id` is what resumes the session later (Codex's thread id,
    /// Claude's and Gemini's session id; `None` for aider, which has no sessions). `model` is
    /// the model the CLI says it uses, when it says so (Claude, Gemini, aider; Codex does not).
    Started {
        session_id: Option<String>,
        model: Option<String>,
        raw: String,
    },
    /// The agent started a tool: a shell command, a file edit, a search, an MCP call.
    /// `id` pairs it with its [`ToolFinished`](AgentEvent::ToolFinished); `name` is the CLI's
    /// own name for it (`Bash`, `run_shell_command`, `command_execution`, `edit`); `kind` is
    /// the normalized family; `summary` is one human line (the command, the file, the query).
    ToolStarted {
        id: String,
        kind: ToolKind,
        name: String,
        summary: String,
        raw: String,
    },
    /// A tool finished. `ok` is the CLI's verdict (for a shell command: it ran and exited 0,
    /// where the CLI tells the exit code; Gemini reports a command that exited non-zero as a
    /// success); `output` is what the tool returned (command output, error message).
    ToolFinished {
        id: String,
        ok: bool,
        output: String,
        raw: String,
    },
    /// Text from the agent. `delta: true` is a fragment of a message still being written
    /// (Claude with `--include-partial-messages`, Gemini): append it. `delta: false` is a
    /// whole message: every message ends with exactly one, which replaces the fragments that
    /// came before it, so a reader that ignores deltas still gets every message in full.
    Text {
        text: String,
        delta: bool,
        raw: String,
    },
    /// The model's reasoning, when the CLI shows it (Codex `reasoning` items, Claude
    /// `thinking` blocks). Not part of the answer.
    Reasoning { text: String, raw: String },
    /// Tokens (and dollars, when the CLI reports them) spent since the previous `Usage` event
    /// of the same session: always a delta, never a running total (see
    /// [`UsageTracker`](super::usage::UsageTracker)). `cost_usd` is `None` when the CLI gives
    /// no price (Codex, Gemini): price it with [`cost`](super::usage::cost).
    Usage {
        #[serde(flatten)]
        usage: Usage,
        raw: String,
    },
    /// Something worth showing that does not end the run: a non-fatal error the CLI reported
    /// (Codex `error` items, a transient 429 it retries, Claude's `api_retry`), a line that is
    /// not what the CLI's format promises (not JSON, no `type`, an unknown event type), or
    /// aider's start-up complaints. `error` classifies a CLI-reported error; it is `None` for
    /// a line the parser could not read.
    Warning {
        message: String,
        error: Option<ErrorKind>,
        raw: String,
    },
    /// The run ended. `ok` is the CLI's verdict; `result_text` is the agent's final answer
    /// (Claude's `result`, else the last whole message); `error` says why a run that is not
    /// ok failed, including a process that ended without a final event (interrupted or
    /// crashed).
    Finished {
        ok: bool,
        result_text: Option<String>,
        error: Option<AgentError>,
        raw: String,
    },
}

impl AgentEvent {
    /// The raw line this event came from (empty for events the parser made up itself).
    pub fn raw(&self) -> &str {
        match self {
            AgentEvent::Started { raw, .. }
            | AgentEvent::ToolStarted { raw, .. }
            | AgentEvent::ToolFinished { raw, .. }
            | AgentEvent::Text { raw, .. }
            | AgentEvent::Reasoning { raw, .. }
            | AgentEvent::Usage { raw, .. }
            | AgentEvent::Warning { raw, .. }
            | AgentEvent::Finished { raw, .. } => raw,
        }
    }

    /// Whether this event ends a run.
    pub fn is_finished(&self) -> bool {
        matches!(self, AgentEvent::Finished { .. })
    }
}

/// The normalized family of a tool, for icons and filters; the CLI's own name stays in
/// [`AgentEvent::ToolStarted::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// Runs a shell command.
    Shell,
    /// Writes or changes files (an edit, a new file, a patch).
    Edit,
    /// Reads a file or lists a directory.
    Read,
    /// Searches the tree (grep, glob).
    Search,
    /// Fetches or searches the web.
    Web,
    /// A tool of an MCP server.
    Mcp,
    /// A git commit the CLI made itself (aider's auto-commits).
    Commit,
    /// Anything else (sub-agents, todo lists, tools this version does not know).
    Other,
}

/// Why a run (or an API call inside it) failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentError {
    #[serde(flatten)]
    pub kind: ErrorKind,
    /// The error as the CLI or the API said it (for an API error wrapped in JSON, the inner
    /// `message`), or the parser's own explanation for a stream that ended without a final
    /// event.
    pub message: String,
    /// The machine-readable type or code the CLI gave, if any (`invalid_request_error`,
    /// `billing_error`, Claude's `terminal_reason`).
    pub code: Option<String>,
}

/// The small set of failures an adapter reacts to differently.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErrorKind {
    /// Too many requests (HTTP 429, `rate_limit`): worth a pause with a countdown and a retry,
    /// or a hand-over to another adapter. `retry_after_ms` when the CLI or API said how long.
    RateLimited { retry_after_ms: Option<u64> },
    /// Out of quota or credit, or a billing problem: waiting will not clear it; stop and raise
    /// a concern.
    Quota,
    /// Missing or rejected credentials (HTTP 401/403, `authentication_error`, Gemini exit 41).
    Auth,
    /// The model API refused or failed the request (a 400, a 5xx, an overloaded API).
    Api { status: Option<u16> },
    /// The run was interrupted: we asked it to stop, or the CLI says the user interrupted it.
    Interrupted,
    /// The process ended without a final event and nobody asked it to stop. `exit_code` is
    /// `None` when a signal killed it.
    Crashed { exit_code: Option<i32> },
    /// Anything else the CLI reported as an error.
    Other,
}

impl AgentError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> AgentError {
        AgentError {
            kind,
            message: message.into(),
            code: None,
        }
    }

    pub fn with_code(mut self, code: Option<String>) -> AgentError {
        self.code = code;
        self
    }
}

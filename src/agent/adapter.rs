//! Adapters as configuration: which CLI an adapter drives, how its command line is built for
//! a turn (a first prompt, or a follow-up that resumes the session), and which parser reads
//! its output. Pure: the runtime (`crate::runtime`) spawns what [`AdapterSpec::invocation`]
//! describes.
//!
//! The command lines follow what the real CLIs need in headless mode (see
//! `tests/fixtures/agent-cli/README.md` and `docs/adapters.md`): Codex `exec --json` with
//! `-C <worktree>` and no approvals, Claude Code `-p --output-format stream-json --verbose
//! --include-partial-messages` (live text),
//! Gemini CLI `-p --output-format stream-json --approval-mode yolo --skip-trust`, aider
//! `--message … --yes-always --no-auto-commits`. Every one runs with stdin on `/dev/null`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::acp_policy::Rule;
use super::acp_preset::{AcpPreset, ModelSetting};
use super::endpoint::Endpoint;
pub use super::kind::AdapterKind;
use super::parse::{
    AgentParser, AiderParser, ClaudeParser, CodexParser, GeminiParser, NativeParser,
};
use super::usage::{PriceTable, UsageTracker};
use crate::config::non_empty;

pub use crate::config::AdapterConfig;

/// An adapter ready to run: its configuration with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterSpec {
    pub name: String,
    pub kind: AdapterKind,
    /// The program; empty for `scripted` (this overlord-tui).
    pub binary: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub model: Option<String>,
    pub prices: Option<PriceTable>,
    pub version_args: Vec<String>,
    pub script_dir: String,
    /// What the CLI may write besides its worktree in the sandbox (`~` is the home
    /// directory; a path ending in `/` is a folder created when missing).
    pub state_dirs: Vec<String>,
    /// `base_url` and `api_key_env`: another model API, given to the CLI its own way.
    pub endpoint: Endpoint,
    /// `acp`: the rules that answer the agent's permission requests.
    pub permissions: Vec<Rule>,
    /// `acp`: the agent Overlord knows by name (its install command, its model API).
    pub preset: Option<&'static AcpPreset>,
}

/// The adapters every repository has unless its configuration changes them: the CLIs, the
/// scripted agent and the `acp` presets (`crate::agent::acp_preset`).
pub const BUILT_IN: [&str; 8] = [
    "codex",
    "claude",
    "gemini",
    "aider",
    "scripted",
    "gemini-acp",
    "claude-acp",
    "codex-acp",
];

impl AdapterSpec {
    /// Resolves `[adapters.<name>]`; the error names the bad field.
    pub fn from_config(name: &str, c: &AdapterConfig) -> Result<AdapterSpec, String> {
        let preset = match c.preset.trim() {
            "" if c.kind.trim().is_empty() => AcpPreset::of_adapter(name),
            "" => None,
            p => Some(AcpPreset::named(p).map_err(|e| format!("[adapters.{name}] preset: {e}"))?),
        };
        let kind_text = match (c.kind.trim(), preset) {
            ("", Some(_)) => "acp",
            ("", None) => name,
            _ => c.kind.as_str(),
        };
        let kind: AdapterKind = kind_text.parse().map_err(|e| {
            if c.kind.trim().is_empty() {
                format!("[adapters.{name}]: set kind = \"codex\" | \"claude\" | \"gemini\" | \"aider\" | \"command\" | \"scripted\" | \"acp\" ({e})")
            } else {
                format!("[adapters.{name}] kind: {e}")
            }
        })?;
        let binary = match (c.binary.trim(), kind) {
            ("", AdapterKind::Codex) => "codex".to_string(),
            ("", AdapterKind::Claude) => "claude".to_string(),
            ("", AdapterKind::Gemini) => "gemini".to_string(),
            ("", AdapterKind::Aider) => "aider".to_string(),
            ("", AdapterKind::Command) => {
                return Err(format!(
                    "[adapters.{name}]: a command adapter needs binary = \"<program>\""
                ))
            }
            ("", AdapterKind::Acp) => match preset {
                Some(p) => p.binary.to_string(),
                None => {
                    return Err(format!(
                        "[adapters.{name}]: an acp adapter needs binary = \"<agent program>\" (e.g. gemini with args = [\"--acp\"]) or preset = \"gemini-acp\" | \"claude-acp\" | \"codex-acp\""
                    ))
                }
            },
            ("", AdapterKind::Scripted) => String::new(),
            (b, _) => b.to_string(),
        };
        if let Some(p) = &c.prices {
            for (field, v) in [
                ("input_per_mtok", p.input_per_mtok),
                ("output_per_mtok", p.output_per_mtok),
                ("cached_input_per_mtok", p.cached_input_per_mtok),
            ] {
                if !v.is_finite() || v < 0.0 {
                    return Err(format!(
                        "[adapters.{name}.prices] {field} must be a price of zero or more, not {v}"
                    ));
                }
            }
        }
        let script_dir = match (c.script_dir.trim(), kind) {
            ("", AdapterKind::Scripted) => "scripts".to_string(),
            (d, _) => d.to_string(),
        };
        if preset.is_some() && kind != AdapterKind::Acp {
            return Err(format!(
                "[adapters.{name}] preset is for acp adapters (kind = \"acp\"), not {kind}"
            ));
        }
        let endpoint_kind = endpoint_kind(kind, preset);
        let endpoint = Endpoint::from_config(name, endpoint_kind, &c.base_url, &c.api_key_env)?;
        let model = non_empty(&c.model);
        if model.is_some() && kind == AdapterKind::Acp && preset.is_none() {
            return Err(format!(
                "[adapters.{name}] model: an acp agent without a preset takes no model from Overlord; give it in args or env as the agent expects"
            ));
        }
        // A preset's arguments first, unless `args` already starts with them.
        let mut args: Vec<String> = match preset {
            Some(p)
                if !(c.args.len() >= p.args.len()
                    && c.args.iter().zip(p.args).all(|(a, b)| a == b)) =>
            {
                p.args.iter().map(|a| a.to_string()).collect()
            }
            _ => Vec::new(),
        };
        args.extend(c.args.iter().cloned());
        if !c.permissions.is_empty() && kind != AdapterKind::Acp {
            return Err(format!(
                "[adapters.{name}.permissions] is for acp adapters (a {kind} CLI asks nobody)"
            ));
        }
        let permissions = c
            .permissions
            .iter()
            .map(|(k, v)| {
                Rule::parse(k, v).map_err(|e| format!("[adapters.{name}.permissions] {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AdapterSpec {
            name: name.to_string(),
            kind,
            binary,
            args,
            env: c.env.clone(),
            model,
            prices: c.prices,
            version_args: match (c.version_args.is_empty(), preset) {
                (false, _) => c.version_args.clone(),
                (true, Some(p)) => p.version_args.iter().map(|a| a.to_string()).collect(),
                (true, None) => vec!["--version".into()],
            },
            script_dir,
            state_dirs: c.state_dirs.clone().unwrap_or_else(|| {
                if endpoint_kind == AdapterKind::Gemini && endpoint.is_set() {
                    // Its own Gemini home (`crate::agent::endpoint`), not `~/.gemini`.
                    vec![super::endpoint::gemini_home(name)]
                } else {
                    let of = preset.map_or(kind, |p| p.cli);
                    of.state_dirs().iter().map(|d| d.to_string()).collect()
                }
            }),
            endpoint,
            permissions,
            preset,
        })
    }

    /// The kind whose model API `base_url` and `api_key_env` describe: the adapter's own, or
    /// for an `acp` preset the CLI underneath (`gemini-acp` is pointed like `gemini`).
    pub fn endpoint_kind(&self) -> AdapterKind {
        endpoint_kind(self.kind, self.preset)
    }

    /// The command line of one turn: `turn.resume` continues the session with that id.
    /// `self_exe` is this overlord-tui (the scripted adapter's program).
    pub fn invocation(&self, turn: &Turn<'_>, self_exe: &Path) -> Invocation {
        let mut line = match self.kind {
            AdapterKind::Codex => self.codex_line(turn),
            AdapterKind::Claude => self.claude_line(turn),
            AdapterKind::Gemini => self.gemini_line(turn),
            AdapterKind::Aider => self.aider_line(turn),
            AdapterKind::Command => self.command_line(turn),
            AdapterKind::Scripted => self.scripted_line(turn),
            AdapterKind::Acp => self.acp_line(turn),
        };
        let program = if (self.kind == AdapterKind::Scripted && self.binary.is_empty())
            || self.kind == AdapterKind::Acp
        {
            self_exe.display().to_string()
        } else {
            self.binary.clone()
        };
        // The endpoint's variables, then the adapter's own `env` (which wins).
        line.env.extend(self.endpoint.env(self.endpoint_kind()));
        for (k, v) in &self.env {
            line.env.push((k.clone(), v.clone()));
        }
        Invocation {
            program,
            args: line.args,
            cwd: turn.workdir.to_path_buf(),
            env: line.env,
            stdin: line.stdin,
        }
    }

    fn codex_line(&self, turn: &Turn<'_>) -> CommandLine {
        let wd = turn.workdir.display().to_string();
        let mut args: Vec<String> = [
            "exec",
            "--json",
            "-C",
            &wd,
            "--sandbox",
            "workspace-write",
            "-c",
            "approval_policy=\"never\"",
            "--skip-git-repo-check",
        ]
        .map(String::from)
        .into();
        args.extend(self.endpoint.args(self.kind, &self.name));
        if let Some(m) = self.model.clone() {
            args.extend(["-m".into(), m]);
        }
        args.extend(self.args.iter().cloned());
        if let Some(id) = turn.resume {
            args.extend(["resume".into(), id.to_string()]);
        }
        args.push(turn.prompt.to_string());
        CommandLine::args(args)
    }

    fn claude_line(&self, turn: &Turn<'_>) -> CommandLine {
        const PARTIAL_MESSAGES: &str = "--include-partial-messages";
        let mut args: Vec<String> = [
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            "Bash Edit Read Write Glob Grep",
        ]
        .map(String::from)
        .into();
        if let Some(m) = self.model.clone() {
            args.extend(["--model".into(), m]);
        }
        if let Some(id) = turn.resume {
            args.extend(["--resume".into(), id.to_string()]);
        }
        // Live text: the message streamed as deltas (`stream_event`s) before it arrives whole;
        // once, whether or not the adapter's `args` name it too.
        if !self.args.iter().any(|a| a == PARTIAL_MESSAGES) {
            args.push(PARTIAL_MESSAGES.into());
        }
        args.extend(self.args.iter().cloned());
        // Stream-json input mode: the prompt is a user message on stdin, and a running turn
        // can be interrupted with a control request instead of a signal (the session stays
        // consistent for the next turn).
        CommandLine {
            stdin: Some(claude_user_message(turn.prompt)),
            ..CommandLine::args(args)
        }
    }

    fn gemini_line(&self, turn: &Turn<'_>) -> CommandLine {
        let mut args: Vec<String> = [
            "-p",
            turn.prompt,
            "--output-format",
            "stream-json",
            "--approval-mode",
            "yolo",
            "--skip-trust",
        ]
        .map(String::from)
        .into();
        if let Some(m) = self.model.clone() {
            args.extend(["-m".into(), m]);
        }
        if let Some(id) = turn.resume {
            args.extend(["--resume".into(), id.to_string()]);
        }
        args.extend(self.args.iter().cloned());
        CommandLine::args(args)
    }

    fn aider_line(&self, turn: &Turn<'_>) -> CommandLine {
        let mut args: Vec<String> = [
            "--message",
            turn.prompt,
            "--yes-always",
            "--no-auto-commits",
            "--no-dirty-commits",
            "--no-pretty",
            "--no-fancy-input",
            "--no-check-update",
            "--analytics-disable",
            "--no-gitignore",
        ]
        .map(String::from)
        .into();
        if let Some(m) = self.model.clone() {
            args.extend(["--model".into(), m]);
        }
        if turn.resume.is_some() {
            args.push("--restore-chat-history".into());
        }
        args.extend(self.endpoint.args(self.kind, &self.name));
        args.extend(self.args.iter().cloned());
        args.extend(turn.files.iter().cloned());
        CommandLine {
            // Offline it would otherwise download a price list first.
            env: vec![("LITELLM_LOCAL_MODEL_COST_MAP".into(), "True".into())],
            ..CommandLine::args(args)
        }
    }

    fn command_line(&self, turn: &Turn<'_>) -> CommandLine {
        let mut args = Vec::new();
        let mut placed = false;
        for a in &self.args {
            if a.contains("{prompt}") {
                placed = true;
            }
            args.push(fill(a, turn.prompt, turn.resume.unwrap_or("")));
        }
        if !placed {
            args.push(turn.prompt.to_string());
        }
        CommandLine {
            env: vec![("OVERLORD_PROMPT".into(), turn.prompt.to_string())],
            ..CommandLine::args(args)
        }
    }

    fn scripted_line(&self, turn: &Turn<'_>) -> CommandLine {
        let mut args = vec![
            "script-agent".into(),
            "--dir".into(),
            self.script_dir.clone(),
        ];
        if let Some(id) = turn.resume {
            args.extend(["--resume".into(), id.to_string()]);
        }
        args.extend(self.args.iter().cloned());
        args.push(turn.prompt.to_string());
        CommandLine::args(args)
    }

    /// `overlord-tui acp-client`, which starts the agent (`binary` and `args`) and speaks ACP
    /// to it; the prompt is sent as `session/prompt`.
    fn acp_line(&self, turn: &Turn<'_>) -> CommandLine {
        let mut args = vec![
            "acp-client".to_string(),
            "--worktree".into(),
            turn.workdir.display().to_string(),
            "--prompt".into(),
            turn.prompt.to_string(),
        ];
        for rule in &self.permissions {
            args.extend(["--permission".into(), rule.to_arg()]);
        }
        if let Some(session) = turn.resume {
            args.extend(["--resume".into(), session.to_string()]);
        }
        // Stdin a pipe kept open: its first line the run's key (the supervisor's, see
        // `Invocation::stdin`), then the human's answers to permission requests.
        args.push("--answers-on-stdin".into());
        args.extend(["--".to_string(), self.binary.clone()]);
        args.extend(self.args.iter().cloned());
        // codex-acp: the endpoint as codex's `-c` model provider.
        args.extend(self.endpoint.args(self.endpoint_kind(), &self.name));
        let mut env = Vec::new();
        if let (Some(p), Some(m)) = (self.preset, &self.model) {
            match p.model(m) {
                ModelSetting::Args(a) => args.extend(a),
                ModelSetting::Env(k, v) => env.push((k, v)),
            }
        }
        CommandLine {
            stdin: Some(String::new()),
            env,
            ..CommandLine::args(args)
        }
    }

    /// A parser for one run of this adapter; `usage` carries the session's cumulative
    /// totals from its earlier runs (Codex and Claude report totals).
    pub fn parser(&self, usage: UsageTracker) -> Box<dyn AgentParser + Send> {
        match self.kind {
            AdapterKind::Codex => Box::new(CodexParser::with_usage_tracker(usage)),
            AdapterKind::Claude => Box::new(ClaudeParser::with_usage_tracker(usage)),
            AdapterKind::Gemini => Box::new(GeminiParser::new()),
            AdapterKind::Aider => Box::new(AiderParser::new()),
            AdapterKind::Command => Box::new(NativeParser::new(&self.name, true)),
            AdapterKind::Scripted | AdapterKind::Acp => {
                Box::new(NativeParser::new(&self.name, false))
            }
        }
    }

    /// The invocation for a run that Overlord confines with Landlock. Codex's own sandbox
    /// cannot start inside it: bubblewrap's uid map is a write Landlock refuses (every shell
    /// command fails with `bwrap: setting up uid map: Permission denied`), and its legacy
    /// Landlock sandbox (`features.use_legacy_landlock`) panics in 0.169.0
    /// ("filesystem-restricted execution requires bubblewrap") — both seen with
    /// `make real-agents`. So a confined codex runs its commands with `--sandbox
    /// danger-full-access`: what they may write is what Overlord's sandbox grants
    /// (docs/governance.md, "The sandbox"). Other CLIs are unchanged.
    pub fn nested_in_landlock(&self, mut inv: Invocation) -> Invocation {
        if self.kind == AdapterKind::Codex && inv.args.first().is_some_and(|a| a == "exec") {
            if let Some(i) = inv.args.iter().position(|a| a == "--sandbox") {
                if inv.args.get(i + 1).is_some_and(|m| m == "workspace-write") {
                    inv.args[i + 1] = "danger-full-access".to_string();
                }
            }
        }
        inv
    }

    /// The program that `overlord-tui agents` probes for (empty: built in).
    pub fn program(&self) -> &str {
        &self.binary
    }
}

/// See [`AdapterSpec::endpoint_kind`].
fn endpoint_kind(kind: AdapterKind, preset: Option<&AcpPreset>) -> AdapterKind {
    match (kind, preset) {
        (AdapterKind::Acp, Some(p)) => p.endpoint_kind(),
        _ => kind,
    }
}

/// One turn of an agent: what to ask and where.
#[derive(Debug, Clone)]
pub struct Turn<'a> {
    pub prompt: &'a str,
    /// Resume this session (a follow-up, a clarification, new work).
    pub resume: Option<&'a str>,
    /// The worktree the agent works in.
    pub workdir: &'a Path,
    /// Files to put in the chat (aider only).
    pub files: &'a [String],
}

/// A process to start: program, arguments, working directory and the extra environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// Claude Code's stream-json input: the first line to write, with stdin a pipe kept open
    /// until the run's result (interrupts go there too); the `acp` client's: the run's answer
    /// key (set by the supervisor), the pipe then carries the human's answers. `None`: stdin is
    /// `/dev/null`.
    pub stdin: Option<String>,
}

/// One turn's arguments, environment and stdin, before the adapter's own `env` is added.
struct CommandLine {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
}

impl CommandLine {
    fn args(args: Vec<String>) -> CommandLine {
        CommandLine {
            args,
            env: Vec::new(),
            stdin: None,
        }
    }
}

/// A command adapter's argument with `{prompt}` and `{session}` replaced in one pass (the
/// prompt may itself contain `{session}`: it is not touched).
fn fill(arg: &str, prompt: &str, session: &str) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{prompt}") {
            out.push_str(prompt);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{session}") {
            out.push_str(session);
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// A user message in Claude Code's stream-json input format.
pub fn claude_user_message(prompt: &str) -> String {
    serde_json::json!({"type": "user", "message": {"role": "user", "content": prompt}}).to_string()
}

/// Claude Code's interrupt request (stream-json input mode).
pub fn claude_interrupt(request_id: &str) -> String {
    serde_json::json!({"type": "control_request", "request_id": request_id, "request": {"subtype": "interrupt"}})
        .to_string()
}

/// The built-in adapters with their defaults, overridden by the configured ones. Returns the
/// adapters and the configuration errors (an adapter whose configuration is wrong is left out
/// with its error, the others still work).
pub fn resolve(configured: &BTreeMap<String, AdapterConfig>) -> (Vec<AdapterSpec>, Vec<String>) {
    let mut names: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
    for n in configured.keys() {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let empty = AdapterConfig::default();
    for name in names {
        let c = configured.get(&name).unwrap_or(&empty);
        match AdapterSpec::from_config(&name, c) {
            Ok(s) => specs.push(s),
            Err(e) => errors.push(e),
        }
    }
    (specs, errors)
}

//! Adapters as configuration: which CLI an adapter drives, how its command line is built for
//! a turn (a first prompt, or a follow-up that resumes the session), and which parser reads
//! its output. Pure: the runtime (`crate::runtime`) spawns what [`AdapterSpec::invocation`]
//! describes.
//!
//! The command lines follow what the real CLIs need in headless mode (see
//! `tests/fixtures/agent-cli/README.md` and `docs/adapters.md`): Codex `exec --json` with
//! `-C <worktree>` and no approvals, Claude Code `-p --output-format stream-json --verbose`,
//! Gemini CLI `-p --output-format stream-json --approval-mode yolo --skip-trust`, aider
//! `--message … --yes-always --no-auto-commits`. Every one runs with stdin on `/dev/null`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::parse::{
    AgentParser, AiderParser, ClaudeParser, CodexParser, GeminiParser, NativeParser,
};
use super::usage::{PriceTable, UsageTracker};

/// The CLI families an adapter can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdapterKind {
    Codex,
    Claude,
    Gemini,
    Aider,
    /// Any program: the prompt goes in its arguments (`{prompt}`) and in `OVERLORD_PROMPT`;
    /// it prints Overlord's native event lines or plain text; its exit code is the verdict.
    Command,
    /// `overlord-tui script-agent`: replays a TOML script (demo and tests).
    Scripted,
}

impl AdapterKind {
    pub const ALL: [AdapterKind; 6] = [
        AdapterKind::Codex,
        AdapterKind::Claude,
        AdapterKind::Gemini,
        AdapterKind::Aider,
        AdapterKind::Command,
        AdapterKind::Scripted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdapterKind::Codex => "codex",
            AdapterKind::Claude => "claude",
            AdapterKind::Gemini => "gemini",
            AdapterKind::Aider => "aider",
            AdapterKind::Command => "command",
            AdapterKind::Scripted => "scripted",
        }
    }

    /// Whether a follow-up can resume the CLI's session (by its id).
    pub fn resumes(self) -> bool {
        !matches!(self, AdapterKind::Command)
    }
}

impl fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AdapterKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key = s.trim().to_ascii_lowercase();
        Ok(match key.as_str() {
            "codex" => AdapterKind::Codex,
            "claude" | "claude-code" | "claude_code" => AdapterKind::Claude,
            "gemini" | "gemini-cli" => AdapterKind::Gemini,
            "aider" => AdapterKind::Aider,
            "command" | "generic" => AdapterKind::Command,
            "scripted" | "script" => AdapterKind::Scripted,
            _ => {
                let names: Vec<&str> = AdapterKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(match crate::protocol::suggest(s, names.iter().copied()) {
                    Some(best) => format!("unknown adapter kind '{s}' — did you mean {best}?"),
                    None => format!("unknown adapter kind '{s}' (kinds: {})", names.join(", ")),
                });
            }
        })
    }
}

/// `[adapters.<name>]` in `.overlord/config.toml`. Every field may be left out: an adapter
/// named after a CLI (`codex`, `claude`, `gemini`, `aider`, `scripted`) takes that CLI's
/// defaults, so `[adapters.codex] model = "o4-mini"` is a whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdapterConfig {
    /// `codex`, `claude`, `gemini`, `aider`, `command` or `scripted`. Empty: the adapter's
    /// name when it is one of these.
    pub kind: String,
    /// The program (a name looked up in `PATH`, or a path). Empty: the CLI's usual name
    /// (`codex`, `claude`, `gemini`, `aider`); for `scripted`, this overlord-tui.
    pub binary: String,
    /// More arguments, placed before the prompt. For `command`, `{prompt}` in an argument is
    /// replaced by the prompt (and `{session}` by the session to resume).
    pub args: Vec<String>,
    /// Environment variables for the CLI (API base URLs, keys taken from elsewhere, …).
    pub env: BTreeMap<String, String>,
    /// The model to ask for (`-m`/`--model`). Empty: the CLI's own default.
    pub model: String,
    /// USD per million tokens, for CLIs that report no cost (Codex, Gemini CLI). Absent:
    /// their cost is not known (tokens are still counted).
    pub prices: Option<PriceTable>,
    /// Arguments that print the CLI's version (`overlord-tui agents`). Empty: `--version`.
    pub version_args: Vec<String>,
    /// `scripted`: the folder of scripts, relative to the repository root.
    pub script_dir: String,
}

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
}

/// The adapters every repository has unless its configuration changes them.
pub const BUILT_IN: [&str; 5] = ["codex", "claude", "gemini", "aider", "scripted"];

impl AdapterSpec {
    /// Resolves `[adapters.<name>]`; the error names the bad field.
    pub fn from_config(name: &str, c: &AdapterConfig) -> Result<AdapterSpec, String> {
        let kind_text = if c.kind.trim().is_empty() {
            name
        } else {
            c.kind.as_str()
        };
        let kind: AdapterKind = kind_text.parse().map_err(|e| {
            if c.kind.trim().is_empty() {
                format!("[adapters.{name}]: set kind = \"codex\" | \"claude\" | \"gemini\" | \"aider\" | \"command\" | \"scripted\" ({e})")
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
        Ok(AdapterSpec {
            name: name.to_string(),
            kind,
            binary,
            args: c.args.clone(),
            env: c.env.clone(),
            model: crate::config::non_empty(&c.model),
            prices: c.prices,
            version_args: if c.version_args.is_empty() {
                vec!["--version".into()]
            } else {
                c.version_args.clone()
            },
            script_dir,
        })
    }

    /// The command line of one turn: `turn.resume` continues the session with that id.
    /// `self_exe` is this overlord-tui (the scripted adapter's program).
    pub fn invocation(&self, turn: &Turn<'_>, self_exe: &Path) -> Invocation {
        let wd = turn.workdir.display().to_string();
        let mut args: Vec<String> = Vec::new();
        let mut env: Vec<(String, String)> = Vec::new();
        let mut stdin = None;
        let model = self.model.clone();
        let program = match self.kind {
            AdapterKind::Codex => {
                args.extend(
                    [
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
                    .map(String::from),
                );
                if let Some(m) = model {
                    args.extend(["-m".into(), m]);
                }
                args.extend(self.args.iter().cloned());
                if let Some(id) = turn.resume {
                    args.extend(["resume".into(), id.to_string()]);
                }
                args.push(turn.prompt.to_string());
                self.binary.clone()
            }
            AdapterKind::Claude => {
                // Stream-json input mode: the prompt is a user message on stdin, and a
                // running turn can be interrupted with a control request instead of a
                // signal (the session stays consistent for the next turn).
                stdin = Some(claude_user_message(turn.prompt));
                args.extend(
                    [
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
                    .map(String::from),
                );
                if let Some(m) = model {
                    args.extend(["--model".into(), m]);
                }
                if let Some(id) = turn.resume {
                    args.extend(["--resume".into(), id.to_string()]);
                }
                args.extend(self.args.iter().cloned());
                self.binary.clone()
            }
            AdapterKind::Gemini => {
                args.extend(
                    [
                        "-p",
                        turn.prompt,
                        "--output-format",
                        "stream-json",
                        "--approval-mode",
                        "yolo",
                        "--skip-trust",
                    ]
                    .map(String::from),
                );
                if let Some(m) = model {
                    args.extend(["-m".into(), m]);
                }
                if let Some(id) = turn.resume {
                    args.extend(["--resume".into(), id.to_string()]);
                }
                args.extend(self.args.iter().cloned());
                self.binary.clone()
            }
            AdapterKind::Aider => {
                args.extend(
                    [
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
                    .map(String::from),
                );
                if let Some(m) = model {
                    args.extend(["--model".into(), m]);
                }
                if turn.resume.is_some() {
                    args.push("--restore-chat-history".into());
                }
                args.extend(self.args.iter().cloned());
                args.extend(turn.files.iter().cloned());
                // Offline it would otherwise download a price list first.
                env.push(("LITELLM_LOCAL_MODEL_COST_MAP".into(), "True".into()));
                self.binary.clone()
            }
            AdapterKind::Command => {
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
                env.push(("OVERLORD_PROMPT".into(), turn.prompt.to_string()));
                self.binary.clone()
            }
            AdapterKind::Scripted => {
                args.push("script-agent".into());
                args.extend(["--dir".into(), self.script_dir.clone()]);
                if let Some(id) = turn.resume {
                    args.extend(["--resume".into(), id.to_string()]);
                }
                args.extend(self.args.iter().cloned());
                args.push(turn.prompt.to_string());
                if self.binary.is_empty() {
                    self_exe.display().to_string()
                } else {
                    self.binary.clone()
                }
            }
        };
        for (k, v) in &self.env {
            env.push((k.clone(), v.clone()));
        }
        Invocation {
            program,
            args,
            cwd: turn.workdir.to_path_buf(),
            env,
            stdin,
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
            AdapterKind::Scripted => Box::new(NativeParser::new(&self.name, false)),
        }
    }

    /// The program that `overlord-tui agents` probes for (empty: built in).
    pub fn program(&self) -> &str {
        &self.binary
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
    /// until the run's result (interrupts go there too). `None`: stdin is `/dev/null`.
    pub stdin: Option<String>,
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

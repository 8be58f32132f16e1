//! The CLI families an adapter can drive ([`AdapterKind`]): their names, where each keeps its
//! login and sessions, and whether it can resume a session.

use std::fmt;
use std::str::FromStr;

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
    /// Any agent that speaks the Agent Client Protocol (`gemini --acp`, `claude-agent-acp`,
    /// `codex-acp`, …), driven by `overlord-tui acp-client`.
    Acp,
}

impl AdapterKind {
    pub const ALL: [AdapterKind; 7] = [
        AdapterKind::Codex,
        AdapterKind::Claude,
        AdapterKind::Gemini,
        AdapterKind::Aider,
        AdapterKind::Command,
        AdapterKind::Scripted,
        AdapterKind::Acp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdapterKind::Codex => "codex",
            AdapterKind::Claude => "claude",
            AdapterKind::Gemini => "gemini",
            AdapterKind::Aider => "aider",
            AdapterKind::Command => "command",
            AdapterKind::Scripted => "scripted",
            AdapterKind::Acp => "acp",
        }
    }

    /// Where the CLI keeps its login and sessions, writable in the sandbox unless
    /// `[adapters.<name>] state_dirs` says otherwise.
    pub fn state_dirs(self) -> &'static [&'static str] {
        match self {
            AdapterKind::Codex => &["~/.codex/"],
            AdapterKind::Claude => &["~/.claude/", "~/.claude.json"],
            AdapterKind::Gemini => &["~/.gemini/"],
            AdapterKind::Aider => &["~/.aider/"],
            AdapterKind::Command | AdapterKind::Scripted | AdapterKind::Acp => &[],
        }
    }

    /// Whether a follow-up can resume the CLI's session (by its id).
    pub fn resumes(self) -> bool {
        // An ACP session resumes with `session/load` where the agent can (else a new one).
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
            "acp" | "agent-client-protocol" => AdapterKind::Acp,
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

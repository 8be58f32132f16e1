//! The presets of the `acp` kind ([`AcpPreset`]): the agents that speak the Agent Client
//! Protocol which Overlord knows by name — how to start each in ACP mode, the npm package
//! that installs it, where it keeps its login, which model API it talks to (so `model`,
//! `base_url` and `api_key_env` reach it its own way), what prints its version, and what it
//! needs to run.
//!
//! Each preset is also a built-in adapter of its name (`gemini-acp`, `claude-acp`,
//! `codex-acp`), and any `[adapters.<name>]` can take one with `preset = "<name>"`.

use super::kind::AdapterKind;

/// One agent Overlord can start in ACP mode without `binary` and `args`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcpPreset {
    /// The preset's name, also its built-in adapter's.
    pub name: &'static str,
    /// Other names `preset = …` accepts.
    pub aliases: &'static [&'static str],
    /// The program the npm package installs.
    pub binary: &'static str,
    /// The arguments that put it in ACP mode (before the adapter's own `args`).
    pub args: &'static [&'static str],
    /// The npm package that installs `binary`.
    pub npm: &'static str,
    /// The CLI underneath: its state folders and its model API (how `base_url`,
    /// `api_key_env` and `model` are given to it).
    pub cli: AdapterKind,
    /// What it needs to run (its login or API key).
    pub needs: &'static str,
    /// What prints its version (`overlord-tui agents`); empty: it has no such command.
    pub version_args: &'static [&'static str],
}

/// The presets, in the order `overlord-tui agents` lists them.
pub const PRESETS: [AcpPreset; 3] = [
    AcpPreset {
        name: "gemini-acp",
        aliases: &["gemini", "gemini-cli"],
        binary: "gemini",
        args: &["--acp"],
        npm: "@google/gemini-cli",
        cli: AdapterKind::Gemini,
        needs: "GEMINI_API_KEY, or a `gemini` login (~/.gemini)",
        version_args: &["--version"],
    },
    AcpPreset {
        name: "claude-acp",
        aliases: &["claude", "claude-agent-acp", "claude-code"],
        binary: "claude-agent-acp",
        args: &[],
        npm: "@agentclientprotocol/claude-agent-acp",
        cli: AdapterKind::Claude,
        needs: "ANTHROPIC_API_KEY, or a `claude` login (~/.claude); Node.js 22 or later",
        version_args: &["--version"],
    },
    AcpPreset {
        name: "codex-acp",
        aliases: &["codex"],
        binary: "codex-acp",
        args: &[],
        npm: "@zed-industries/codex-acp",
        cli: AdapterKind::Codex,
        needs: "OPENAI_API_KEY or CODEX_API_KEY, or a `codex login` (~/.codex)",
        // Its command line is codex's `-c` overrides only: `--version` is an error.
        version_args: &[],
    },
];

impl AcpPreset {
    /// The preset `preset = "<name>"` names (its name or an alias, any case); the error
    /// names the known ones.
    pub fn named(name: &str) -> Result<&'static AcpPreset, String> {
        let key = name.trim().to_ascii_lowercase();
        PRESETS
            .iter()
            .find(|p| p.name == key || p.aliases.contains(&key.as_str()))
            .ok_or_else(|| {
                let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                format!(
                    "unknown acp preset '{}' (presets: {})",
                    name.trim(),
                    names.join(", ")
                )
            })
    }

    /// The preset whose built-in adapter is called `adapter` (exactly its name).
    pub fn of_adapter(adapter: &str) -> Option<&'static AcpPreset> {
        PRESETS.iter().find(|p| p.name == adapter)
    }

    /// The command that installs it.
    pub fn install_command(&self) -> String {
        format!("npm install -g {}", self.npm)
    }

    /// The kind whose model API `base_url` and `api_key_env` describe, given the way that
    /// CLI takes them: Gemini CLI reads `GOOGLE_GEMINI_BASE_URL` and `GEMINI_API_KEY`; the
    /// Claude agent (the Claude Code it runs) `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`;
    /// codex-acp parses codex's own `-c key=value` overrides (a model provider of its own).
    pub fn endpoint_kind(&self) -> AdapterKind {
        self.cli
    }

    /// How `model` reaches the agent: arguments, or a variable of its environment.
    pub fn model(&self, model: &str) -> ModelSetting {
        match self.cli {
            AdapterKind::Claude => ModelSetting::Env("ANTHROPIC_MODEL".into(), model.to_string()),
            AdapterKind::Codex => {
                // A TOML string: codex parses a `-c` value as TOML (a JSON string is one).
                let quoted = serde_json::to_string(model).unwrap_or_default();
                ModelSetting::Args(vec!["-c".into(), format!("model={quoted}")])
            }
            _ => ModelSetting::Args(vec!["-m".into(), model.to_string()]),
        }
    }
}

/// How an adapter's `model` is given to a preset's agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSetting {
    Args(Vec<String>),
    Env(String, String),
}

/// The install command for a CLI of `kind` that is not installed (`None`: no package).
pub fn install_hint(kind: AdapterKind, preset: Option<&AcpPreset>) -> Option<String> {
    if let Some(p) = preset {
        return Some(p.install_command());
    }
    match kind {
        AdapterKind::Codex => Some("npm install -g @openai/codex".into()),
        AdapterKind::Claude => Some("npm install -g @anthropic-ai/claude-code".into()),
        AdapterKind::Gemini => Some("npm install -g @google/gemini-cli".into()),
        AdapterKind::Aider => Some("pipx install aider-chat".into()),
        AdapterKind::Command | AdapterKind::Scripted | AdapterKind::Acp => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_found_by_name_or_alias_and_a_bad_name_lists_them() {
        assert_eq!(AcpPreset::named("gemini").unwrap().name, "gemini-acp");
        assert_eq!(AcpPreset::named(" Gemini-ACP ").unwrap().binary, "gemini");
        assert_eq!(
            AcpPreset::named("claude-agent-acp").unwrap().npm,
            "@agentclientprotocol/claude-agent-acp"
        );
        assert_eq!(AcpPreset::named("codex").unwrap().binary, "codex-acp");
        let e = AcpPreset::named("goose").unwrap_err();
        assert_eq!(
            e,
            "unknown acp preset 'goose' (presets: gemini-acp, claude-acp, codex-acp)"
        );
        assert!(AcpPreset::of_adapter("gemini").is_none());
        assert_eq!(
            AcpPreset::of_adapter("codex-acp").unwrap().cli,
            AdapterKind::Codex
        );
    }

    #[test]
    fn each_preset_says_how_it_is_installed_and_given_a_model() {
        let g = AcpPreset::named("gemini").unwrap();
        assert_eq!(g.install_command(), "npm install -g @google/gemini-cli");
        assert_eq!(
            g.model("flash"),
            ModelSetting::Args(vec!["-m".into(), "flash".into()])
        );
        let c = AcpPreset::named("claude").unwrap();
        assert_eq!(
            c.model("opus"),
            ModelSetting::Env("ANTHROPIC_MODEL".into(), "opus".into())
        );
        let x = AcpPreset::named("codex").unwrap();
        assert_eq!(
            x.model("o4-mini"),
            ModelSetting::Args(vec!["-c".into(), "model=\"o4-mini\"".into()])
        );
        assert_eq!(x.endpoint_kind(), AdapterKind::Codex);
        assert!(x.version_args.is_empty());
        assert_eq!(
            install_hint(AdapterKind::Acp, Some(x)).as_deref(),
            Some("npm install -g @zed-industries/codex-acp")
        );
        assert_eq!(install_hint(AdapterKind::Acp, None), None);
        assert_eq!(
            install_hint(AdapterKind::Aider, None).as_deref(),
            Some("pipx install aider-chat")
        );
    }
}

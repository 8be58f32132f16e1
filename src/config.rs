//! Configuration: the defaults are built in (and written out, commented, as
//! `config/default.toml`, which a test keeps identical); the user's `.overlord/config.toml`
//! overrides them key by key. A bad user file never stops the
//! program: it is reported with file, line and column, and the defaults are used.

use std::path::Path;

use serde::Deserialize;

pub const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");
pub const DEFAULT_QA_POLICY: &str = include_str!("../config/QA_POLICY.yaml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub core: CoreConfig,
    pub git: GitConfig,
    pub qa: QaConfig,
    pub worktrees: WorktreesConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoreConfig {
    pub snapshot_every: u64,
    pub poll_ms: u64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            snapshot_every: 1000,
            poll_ms: 250,
        }
    }
}

/// `[git]`: which branch Save moves and which refs only Overlord's Save, promotion and
/// rollback may move.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GitConfig {
    /// The branch Save fast-forwards. Empty: `main` if it exists, else `master`, else the
    /// branch checked out when the session started.
    pub main: String,
    /// More protected branches besides the main one (e.g. `develop`, `release/*`).
    pub protected: Vec<String>,
}

/// `[qa]`: how the QA gates run. Each gate's command may be set per project; an empty one is
/// detected from the project (Cargo, Python, Node; see `docs/qa.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QaConfig {
    /// The policy file, relative to the repository root.
    pub policy: String,
    /// Seconds before a gate command is stopped and counted as failed.
    pub timeout_secs: u64,
    /// Run on the new `main` right after a Save; a failure rolls the Save back.
    pub verify_command: String,
    pub build: GateCommand,
    pub tests: GateCommand,
    pub lint: GateCommand,
    pub coverage: GateCommand,
    /// End-to-end tests: no default; the promotion policy may require them.
    pub e2e: GateCommand,
}

impl Default for QaConfig {
    fn default() -> Self {
        QaConfig {
            policy: ".overlord/QA_POLICY.yaml".into(),
            timeout_secs: 1800,
            verify_command: String::new(),
            build: GateCommand::default(),
            tests: GateCommand::default(),
            lint: GateCommand::default(),
            coverage: GateCommand::default(),
            e2e: GateCommand::default(),
        }
    }
}

/// `[qa.<gate>]`: one gate's command and where its results are read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GateCommand {
    /// `sh -c` command run in the integration worktree. Empty: the detected default;
    /// `off`: the gate is not run (not measured).
    pub command: String,
    /// How its results are read: `libtest`, `junit`, `tap`, `exit` (tests, e2e); `cargo`
    /// or `exit` (build); `clippy`, `eslint`, `ruff` (lint); `lcov`, `cobertura` (coverage).
    /// Empty: the detected default's format.
    pub format: String,
    /// The file the tool writes its results to (JUnit XML, LCOV, Cobertura), relative to
    /// the worktree; empty when the results are on stdout. `{out}` in `command` and here is
    /// replaced by the run's own artifact directory.
    pub report: String,
}

/// `[worktrees]`: how each task's worktree is prepared.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorktreesConfig {
    /// Files copied from the main work tree into each new worktree when present.
    pub copy: Vec<String>,
    /// A shell command run in each new worktree (e.g. `npm ci`).
    pub setup_command: String,
    pub setup_timeout_secs: u64,
}

impl Default for WorktreesConfig {
    fn default() -> Self {
        WorktreesConfig {
            copy: vec![".env".into()],
            setup_command: String::new(),
            setup_timeout_secs: 600,
        }
    }
}

impl WorktreesConfig {
    pub fn setup(&self) -> crate::core::worktree::Setup {
        crate::core::worktree::Setup {
            copy: self.copy.clone(),
            command: non_empty(&self.setup_command),
            timeout: Some(std::time::Duration::from_secs(
                self.setup_timeout_secs.max(1),
            )),
        }
    }
}

/// `None` for a blank setting.
pub fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A problem with a configuration file, located for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} (using the defaults)",
            self.file, self.line, self.column, self.message
        )
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    // Back off to a character boundary so a stray offset can never split a character.
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

impl Config {
    /// Loads the user's file over the defaults. A missing file is fine; a bad one gives a
    /// warning and the defaults.
    pub fn load(path: &Path, shown: &str) -> (Config, Option<ConfigWarning>) {
        let config = Config::default();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (config, None),
            Err(e) => {
                return (
                    config,
                    Some(ConfigWarning {
                        file: shown.to_string(),
                        line: 0,
                        column: 0,
                        message: format!("cannot be read: {e}"),
                    }),
                )
            }
        };
        match toml::from_str::<Config>(&text) {
            Ok(c) => (c, None),
            Err(e) => {
                let (line, column) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((0, 0));
                (
                    config,
                    Some(ConfigWarning {
                        file: shown.to_string(),
                        line,
                        column,
                        message: e.message().trim().to_string(),
                    }),
                )
            }
        }
    }
}

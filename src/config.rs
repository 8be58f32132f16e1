//! Configuration: defaults are `config/default.toml`, embedded in the binary; the user's
//! `.overlord/config.toml` overrides them key by key. A bad user file never stops the
//! program: it is reported with file, line and column, and the defaults are used.

use std::path::Path;

use serde::Deserialize;

pub const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");
pub const DEFAULT_QA_POLICY: &str = include_str!("../config/QA_POLICY.yaml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub core: CoreConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreConfig {
    pub snapshot_every: u64,
    pub poll_ms: u64,
}

/// The user's file: every key optional, unknown keys are errors (typos should be seen).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialConfig {
    #[serde(default)]
    core: PartialCore,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialCore {
    snapshot_every: Option<u64>,
    poll_ms: Option<u64>,
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

impl Default for Config {
    fn default() -> Self {
        // The embedded defaults are checked by a test; an error here is a build defect.
        toml::from_str(DEFAULT_CONFIG).unwrap_or(Config {
            core: CoreConfig {
                snapshot_every: 1000,
                poll_ms: 250,
            },
        })
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
        let mut config = Config::default();
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
        match toml::from_str::<PartialConfig>(&text) {
            Ok(p) => {
                if let Some(v) = p.core.snapshot_every {
                    config.core.snapshot_every = v;
                }
                if let Some(v) = p.core.poll_ms {
                    config.core.poll_ms = v;
                }
                (config, None)
            }
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

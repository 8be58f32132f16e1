//! `[deps]` (where the package registries are answered from and how long their answers are
//! kept) and `[janitor]` (the dependency updater's schedule and commands).

use serde::Deserialize;

/// `[deps]`: the registries the dependency checks ask. Each base URL may also be set by an
/// environment variable (it wins), so a test or an air-gapped site can point at a mirror.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DepsConfig {
    /// The crates.io sparse index (`OVERLORD_REGISTRY_CRATES`). Empty: https://index.crates.io.
    pub crates_index: String,
    /// The npm registry (`OVERLORD_REGISTRY_NPM`). Empty: https://registry.npmjs.org.
    pub npm_registry: String,
    /// PyPI's JSON API (`OVERLORD_REGISTRY_PYPI`). Empty: https://pypi.org.
    pub pypi: String,
    /// Seconds a cached answer is used without asking the registry again.
    pub cache_ttl_secs: u64,
    /// Seconds one registry request may take before the answer comes from the cache.
    pub timeout_secs: u64,
}

impl Default for DepsConfig {
    fn default() -> Self {
        DepsConfig {
            crates_index: String::new(),
            npm_registry: String::new(),
            pypi: String::new(),
            cache_ttl_secs: 3600,
            timeout_secs: 10,
        }
    }
}

/// `[janitor]`: `overlord-tui janitor` and its schedule.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JanitorConfig {
    /// Whether the schedule runs it (the command always works).
    pub enabled: bool,
    /// A cron expression (minute hour day-of-month month day-of-week, UTC).
    pub schedule: String,
    /// The branch the updates are committed on.
    pub branch: String,
    /// Run after each update (`sh -c` in the janitor's worktree). Empty: the QA tests gate's
    /// command (configured or detected).
    pub test_command: String,
    /// Updates one dependency (`sh -c`); `{name}`, `{version}`, `{manifest}` and
    /// `{ecosystem}` are filled in. Empty: the ecosystem's own tool (`cargo update -p`,
    /// `npm install`, or the requirement rewritten in a requirements file).
    pub update_command: String,
}

impl Default for JanitorConfig {
    fn default() -> Self {
        JanitorConfig {
            enabled: false,
            schedule: "0 2 * * 0".into(),
            branch: "chore/update-deps".into(),
            test_command: String::new(),
            update_command: String::new(),
        }
    }
}

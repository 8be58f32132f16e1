//! Configuration: the defaults are built in (and written out, commented, as
//! `config/default.toml`, which a test keeps identical); the user's `.overlord/config.toml`
//! overrides them key by key. A bad user file never stops the
//! program: it is reported with file, line and column, and the defaults are used.

use std::path::Path;

use serde::Deserialize;

mod deps;
mod discord;
mod factory;
mod review;
mod time_of_day;
pub use deps::{DepsConfig, JanitorConfig};
pub use discord::{DiscordChannels, DiscordConfig, Snowflake};
pub use factory::{DiscoveryConfig, PlannerConfig};
pub use review::ReviewConfig;
pub use time_of_day::{until_next, TimeOfDay};

pub const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");
pub const DEFAULT_QA_POLICY: &str = include_str!("../config/QA_POLICY.yaml");

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub core: CoreConfig,
    pub git: GitConfig,
    pub qa: QaConfig,
    pub worktrees: WorktreesConfig,
    pub agents: AgentsConfig,
    pub roles: RolesConfig,
    pub console: ConsoleConfig,
    pub discord: DiscordConfig,
    pub metrics: MetricsConfig,
    pub reports: ReportsConfig,
    pub review: ReviewConfig,
    pub planner: PlannerConfig,
    pub discovery: DiscoveryConfig,
    pub deps: DepsConfig,
    pub janitor: JanitorConfig,
    /// `[adapters.<name>]`: over the built-in codex, claude, gemini, aider and scripted.
    #[serde(skip_serializing)]
    pub adapters: std::collections::BTreeMap<String, AdapterConfig>,
}

/// `[agents]`: how the supervisor runs the swarm.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentsConfig {
    /// Runs at once, across roles.
    pub concurrency: usize,
    /// Runs of a task before it fails (the first included).
    pub max_attempts: u32,
    /// Seconds before the first retry; doubled for each further one.
    pub backoff_secs: u64,
    pub backoff_max_secs: u64,
    /// Seconds a run may take (a task's own `timeout_seconds` wins).
    pub timeout_secs: u64,
    /// Seconds between SIGINT, SIGTERM and SIGKILL when a run is stopped.
    pub cancel_grace_secs: u64,
    /// Seconds an `acp` agent's permission request asked of the human waits for the answer
    /// before it is rejected (the concern is then closed as expired).
    pub permission_timeout_secs: u64,
    /// A concern nobody acknowledged goes one role up after this many seconds (0: never).
    pub escalate_after_secs: u64,
    /// Debug attempts of a branch todo before its failure goes to the human.
    pub max_debug_attempts: u32,
    /// Adapters a rate-limited task is handed to, in order, in the same worktree.
    pub fallback: Vec<String>,
    /// Seconds to pause a rate-limited agent when the CLI does not say how long.
    pub rate_limit_pause_secs: u64,
    /// Rate-limit pauses of one run before it is handed over (or fails).
    pub rate_limit_retries: u32,
    /// Milliseconds between writes of the agents' coalesced activity to the audit trail.
    pub flush_ms: u64,
    /// Seconds without output after which an agent shows as stalled.
    pub stall_secs: u64,
    /// Seconds a CLI may keep failing to reach its model API ("Reconnecting…", connection
    /// refused) before the human is told (0: never).
    pub unreachable_secs: u64,
    /// Tokens one task may spend (0: no limit).
    pub task_budget_tokens: u64,
    /// USD one task may spend (0: no limit).
    pub task_budget_usd: f64,
    /// Checks a finished task's work in its worktree (`sh -c`); a failure opens a branch
    /// todo. Empty: the QA tests gate's command (configured or detected); "off": none.
    pub acceptance_command: String,
    /// The kernel sandbox (Landlock) every agent CLI runs in (docs/governance.md).
    pub sandbox: SandboxMode,
    /// More paths agents may write (package caches, …); `~` is the home directory.
    pub sandbox_extra_write: Vec<String>,
    /// Outgoing TCP ports agents may connect to (Landlock ABI 4+); empty: no network rule.
    pub sandbox_net_ports: Vec<u16>,
}

/// `[agents] sandbox`: what happens to agents on a kernel without Landlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxMode {
    /// Agents run confined; without Landlock none is started.
    #[default]
    Enforce,
    /// Agents run confined where the kernel can; otherwise unconfined, with a warning.
    #[serde(alias = "best-effort")]
    BestEffort,
    /// Agents run unconfined.
    Off,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        AgentsConfig {
            concurrency: 4,
            max_attempts: 3,
            backoff_secs: 5,
            backoff_max_secs: 300,
            timeout_secs: 3600,
            cancel_grace_secs: 5,
            permission_timeout_secs: 600,
            escalate_after_secs: 900,
            max_debug_attempts: 3,
            fallback: Vec::new(),
            rate_limit_pause_secs: 60,
            rate_limit_retries: 3,
            flush_ms: 1000,
            stall_secs: 120,
            unreachable_secs: 60,
            task_budget_tokens: 0,
            task_budget_usd: 0.0,
            acceptance_command: String::new(),
            sandbox: SandboxMode::Enforce,
            sandbox_extra_write: Vec::new(),
            sandbox_net_ports: Vec::new(),
        }
    }
}

/// `[metrics]`: the thresholds of the alert levels (docs/metrics.md). Rates are fractions
/// (0.9 is 90%); coverage and reproducibility are percent, like the QA policy's.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// ALERT below this coverage (percent)…
    pub coverage_min: f64,
    /// …WARN below `coverage_min` + this many points.
    pub coverage_warn_margin: f64,
    /// ALERT when coverage fell by more than this many points since the previous run.
    pub regression_points: f64,
    /// ALERT below this reproducibility (percent)…
    pub reproducibility_min: f64,
    /// …WARN below `reproducibility_min` + this many points.
    pub reproducibility_warn_margin: f64,
    /// WARN below this share of QA runs whose build passed.
    pub build_pass_rate_min: f64,
    /// WARN below this share of finished tasks that were done (not failed).
    pub task_pass_rate_min: f64,
    /// WARN below this share of task branches merged without conflict.
    pub merge_success_min: f64,
    /// WARN above this share of flaky tests.
    pub flakiness_max: f64,
    /// WARN when warning or critical concerns wait longer (p90, seconds) to be acknowledged
    /// (0: never).
    pub ack_latency_max_secs: u64,
    /// USD the swarm may spend in the window (0: no budget): ALERT above it…
    pub budget_usd: f64,
    /// …WARN from this share of it.
    pub budget_warn_fraction: f64,
    /// Serve `/metrics` (OpenMetrics) on this loopback address, e.g. `127.0.0.1:9464`
    /// (empty: off).
    pub listen: String,
    /// The owner (console, `run`, `serve`) evaluates the alerts this often, and soon after a
    /// QA run, a concern, an agent's state or a git action (0: never).
    pub evaluate_every_secs: u64,
    /// The window the owner's alerts are evaluated over (`24h`, `7d`, `checkpoint`, `all`).
    pub alert_window: crate::metrics::Window,
    /// The owner verifies the audit chain this often for the `audit_chain` alert (0: never).
    pub verify_chain_every_secs: u64,
    /// CRITICAL alerts that turn the kill switch on (`/pause all`): alert keys, or the part
    /// before `:` (`agent_halted` for every agent). Empty: never.
    pub kill_switch_on: Vec<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            coverage_min: 80.0,
            coverage_warn_margin: 5.0,
            regression_points: 2.0,
            reproducibility_min: 95.0,
            reproducibility_warn_margin: 2.0,
            build_pass_rate_min: 0.9,
            task_pass_rate_min: 0.8,
            merge_success_min: 0.8,
            flakiness_max: 0.01,
            ack_latency_max_secs: 900,
            budget_usd: 0.0,
            budget_warn_fraction: 0.8,
            listen: String::new(),
            evaluate_every_secs: 60,
            alert_window: crate::metrics::Window::Last24h,
            verify_chain_every_secs: 3600,
            kill_switch_on: vec![
                "audit_chain".into(),
                "data_corruption".into(),
                "policy_breach".into(),
            ],
        }
    }
}

/// `[reports]`: the daily digest (docs/metrics.md, "Daily digest").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// When the owner (console, `run`, `serve`) writes the daily digest, `HH:MM` UTC: the
    /// report, the status documents and the day's audit records, committed on the
    /// integration branch, and a summary on Discord's `#system-health` (unset: never;
    /// `overlord-tui digest` writes one on demand).
    pub daily_at: Option<TimeOfDay>,
}

/// `[console]`: how the console looks and calls for attention.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// `dark`, `light` or `high-contrast`; `.overlord/theme.toml` can change any slot of it.
    pub theme: String,
    /// Ring the terminal bell for a critical concern.
    pub bell: bool,
    /// Raise a desktop notification (`notify-send`) for a critical concern.
    pub desktop_notifications: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            theme: "dark".into(),
            bell: true,
            desktop_notifications: true,
        }
    }
}

/// `[roles.<role>]`: which adapter plays each role, its prompt and its budget.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RolesConfig {
    pub pm: RoleConfig,
    pub designer: RoleConfig,
    pub implementer: RoleConfig,
    pub tester: RoleConfig,
    pub debugger: RoleConfig,
    pub reviewer: RoleConfig,
    /// Writes plans from a goal (`overlord-tui plan new`); not a task role.
    pub planner: RoleConfig,
}

impl RolesConfig {
    pub fn get(&self, role: crate::protocol::model::Role) -> &RoleConfig {
        use crate::protocol::model::Role;
        match role {
            Role::ProjectManager | Role::Human => &self.pm,
            Role::Designer => &self.designer,
            Role::Implementer => &self.implementer,
            Role::Tester => &self.tester,
            Role::Debugger => &self.debugger,
            Role::Reviewer => &self.reviewer,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleConfig {
    /// The adapter that plays the role (`[adapters.<name>]` or a built-in one).
    pub adapter: String,
    /// A prompt template replacing the built-in `config/roles/<role>.md` (path relative to
    /// the repository root). Empty: the built-in one.
    pub prompt: String,
    /// Tokens the role may spend in the session (0: no limit).
    pub budget_tokens: u64,
    /// USD the role may spend in the session (0: no limit).
    pub budget_usd: f64,
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig {
            adapter: "codex".into(),
            prompt: String::new(),
            budget_tokens: 0,
            budget_usd: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoreConfig {
    pub snapshot_every: u64,
    pub poll_ms: u64,
    /// The largest plan file `/import` reads (bytes): every later command carries the plan in
    /// its state, so an outsized one slows everything (an 11 MB plan made commands 20× slower).
    pub max_plan_bytes: u64,
    /// The most tasks a plan may hold.
    pub max_plan_tasks: usize,
    /// Critical concerns in these categories, from anyone (an agent included), turn the kill
    /// switch on at once (seed 000 §15: integrity problems stop the swarm). Empty: never.
    pub kill_switch_concerns: Vec<String>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            snapshot_every: 1000,
            poll_ms: 250,
            max_plan_bytes: 1 << 20,
            max_plan_tasks: 2000,
            kill_switch_concerns: vec![
                "audit_integrity".into(),
                "data_corruption".into(),
                "reproducibility".into(),
            ],
        }
    }
}

/// `[git]`: which branch Save moves and which refs only Overlord's Save, promotion and
/// rollback may move.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GitConfig {
    /// The branch Save fast-forwards. Empty: `main` if it exists, else `master`, else the
    /// branch checked out when the session started.
    pub main: String,
    /// More protected branches besides the main one (e.g. `develop`, `release/*`).
    pub protected: Vec<String>,
    /// Who Saves: `manual` (the human's key or `/save`) or `auto` (Overlord Saves by itself
    /// when the QA decision on the integration branch is `auto_merge`).
    pub save: SaveMode,
    /// With `save = "auto"`: at least this many seconds between two automatic Saves (work
    /// that finished meanwhile is integrated and gated at once and Saved together), except at
    /// the end of a phase, which is Saved at once. 0: every integration that passes is Saved.
    pub auto_save_interval_secs: u64,
    /// The branch a promotion moves to the promoted commit. Empty: the main branch.
    pub release_branch: String,
    /// The version tag a promotion creates: `{n}` is the promotion's number (1 for the
    /// first), `{phase}` the phase id. Empty: `v0.{n}.0-{phase}` (seed 000 §14).
    pub version_tag: String,
}

impl Default for GitConfig {
    fn default() -> Self {
        GitConfig {
            main: String::new(),
            protected: Vec::new(),
            save: SaveMode::Manual,
            auto_save_interval_secs: 300,
            release_branch: String::new(),
            version_tag: String::new(),
        }
    }
}

/// `[git] save`: whether a Save needs the human's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SaveMode {
    /// The human Saves (`s` in the console, `/save`, `overlord-tui save`).
    #[default]
    Manual,
    /// Overlord Saves what QA lets through by itself; what `require_human_if` names waits for
    /// the human.
    Auto,
}

impl SaveMode {
    pub fn is_auto(self) -> bool {
        self == SaveMode::Auto
    }
}

/// `[qa]`: how the QA gates run. Each gate's command may be set per project; an empty one is
/// detected from the project (Cargo, Python, Node; see `docs/qa.md`).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
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
    /// The hallucinated-dependency gate: what a dependency added by the diff that does not
    /// exist in its registry does (`fail`: fails the gate; `warn`: reported only; `off`: not
    /// checked). An unknown answer (offline, no cache) is "not measured" under `fail`.
    pub hallucination_check: HallucinationCheck,
}

/// `[qa] hallucination_check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HallucinationCheck {
    #[default]
    Fail,
    Warn,
    Off,
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
            hallucination_check: HallucinationCheck::Fail,
        }
    }
}

/// `[qa.<gate>]`: one gate's command and where its results are read.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, Default)]
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
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
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

/// `[adapters.<name>]` in `.overlord/config.toml`. Every field may be left out: an adapter
/// named after a CLI (`codex`, `claude`, `gemini`, `aider`, `scripted`) takes that CLI's
/// defaults, so `[adapters.codex] model = "o4-mini"` is a whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdapterConfig {
    /// `codex`, `claude`, `gemini`, `aider`, `command`, `scripted` or `acp`. Empty: the adapter's
    /// name when it is one of these (`acp` when it is a preset's, or `preset` is set).
    pub kind: String,
    /// The program (a name looked up in `PATH`, or a path). Empty: the CLI's usual name
    /// (`codex`, `claude`, `gemini`, `aider`); for `scripted`, this overlord-tui.
    pub binary: String,
    /// More arguments, placed before the prompt. For `command`, `{prompt}` in an argument is
    /// replaced by the prompt (and `{session}` by the session to resume).
    pub args: Vec<String>,
    /// Environment variables for the CLI (API base URLs, keys taken from elsewhere, …).
    pub env: std::collections::BTreeMap<String, String>,
    /// The model to ask for (`-m`/`--model`). Empty: the CLI's own default.
    pub model: String,
    /// USD per million tokens, for CLIs that report no cost (Codex, Gemini CLI). Absent:
    /// their cost is not known (tokens are still counted).
    pub prices: Option<crate::agent::usage::PriceTable>,
    /// Arguments that print the CLI's version (`overlord-tui agents`). Empty: `--version`.
    pub version_args: Vec<String>,
    /// `scripted`: the folder of scripts, relative to the repository root.
    pub script_dir: String,
    /// What the CLI may write outside the worktree in the sandbox (its login and session
    /// state). Absent: the kind's own (`~/.codex/`, `~/.claude/` and `~/.claude.json`,
    /// `~/.gemini/`, `~/.aider/`).
    pub state_dirs: Option<Vec<String>>,
    /// The model API the CLI talks to (an OpenAI-compatible server, a proxy, a gateway).
    /// Empty: the CLI's own. Given to each CLI its own way (`crate::agent::endpoint`).
    pub base_url: String,
    /// The environment variable (of Overlord's environment) holding the API key for that
    /// endpoint. Empty: the CLI finds its key as usual.
    pub api_key_env: String,
    /// `acp`: how the agent's permission requests are answered, `"<kind> [<glob>]" =
    /// "allow" | "ask" | "deny"` (`crate::agent::acp_policy`). Empty: the defaults.
    pub permissions: std::collections::BTreeMap<String, String>,
    /// `acp`: an agent Overlord knows (`gemini-acp`, `claude-acp`, `codex-acp`;
    /// `crate::agent::acp_preset`), giving the defaults of `binary`, `args` and `state_dirs`.
    /// Empty: the adapter's name when it is a preset's.
    pub preset: String,
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

/// Writes `[console] theme = "<name>"` into the config file at `path` (`/theme <name> --save`),
/// everything else in it kept as it was — comments, order, the other settings. It is a careful
/// line edit rather than a rewrite (no TOML editor among the dependencies, and serializing
/// the parsed file would drop its comments): the `theme` line of `[console]` is replaced, or
/// one is added under `[console]`, or a `[console]` table is added at the end. A file that
/// does not parse is left alone, and the edit is read back — the same settings but the theme —
/// before it replaces the file (through a temporary file and a rename).
pub fn save_console_theme(path: &Path, name: &str) -> Result<(), String> {
    let shown = path.display();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let before: Config = toml::from_str(&text).map_err(|e| {
        format!(
            "{shown} does not parse ({}): fix it first",
            e.message().trim()
        )
    })?;
    let edited = with_console_theme(&text, name);
    let after: Config = toml::from_str(&edited).map_err(|e| {
        format!(
            "cannot place the theme in {shown} (the edit would not parse: {}): set [console] theme = \"{name}\" by hand",
            e.message().trim()
        )
    })?;
    let mut expected = before;
    expected.console.theme = name.to_string();
    if after != expected {
        return Err(format!(
            "cannot place the theme in {shown} (is [console] written inline or as dotted keys?): set [console] theme = \"{name}\" by hand"
        ));
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &edited)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {shown}: {e}"))
}

/// `text` (a config file) with `[console] theme = "<name>"` set, by lines (see
/// [`save_console_theme`], which checks the result).
pub fn with_console_theme(text: &str, name: &str) -> String {
    let setting = format!("theme = \"{}\"", name.escape_default());
    let header = |line: &str| -> Option<String> {
        let t = line.trim();
        let t = t.split('#').next().unwrap_or(t).trim();
        (t.starts_with('[') && !t.starts_with("[[") && t.ends_with(']'))
            .then(|| t[1..t.len() - 1].trim().to_string())
    };
    let mut out = String::with_capacity(text.len() + setting.len() + 12);
    let mut table = String::new();
    let mut done = false;
    let mut console_at = None;
    for line in text.split_inclusive('\n') {
        if let Some(h) = header(line) {
            table = h;
            if table == "console" {
                out.push_str(line);
                console_at = Some(out.len());
                continue;
            }
        }
        let key = line.split('=').next().unwrap_or("").trim();
        if !done && table == "console" && key == "theme" && line.contains('=') {
            let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
            // A comment after the value stays.
            let value = line.split_once('=').map_or("", |(_, v)| v).trim_start();
            let comment = value
                .strip_prefix('"')
                .and_then(|v| v.split_once('"'))
                .map(|(_, rest)| rest.trim_end_matches(['\n', '\r']).trim())
                .filter(|rest| rest.starts_with('#'))
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            let end = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
            out.push_str(&format!("{indent}{setting}{comment}{end}"));
            done = true;
            continue;
        }
        out.push_str(line);
    }
    if done {
        return out;
    }
    match console_at {
        Some(at) => {
            // The header was the last line without a newline.
            let nl = if out[..at].ends_with('\n') { "" } else { "\n" };
            out.insert_str(at, &format!("{nl}{setting}\n"));
        }
        None => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("[console]\n{setting}\n"));
        }
    }
    out
}

//! What an agent's runs did, in one form for every CLI: per run ([`RunTelemetry`], the
//! `agent_run_reported` event) and per task ([`TaskTelemetry`], the runs added up and kept in
//! the state after the task ends) — tool calls and which failed (with the exit code where the
//! CLI tells it), files touched (repo-relative, deduplicated), the token split, the cost and
//! where it came from, the model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a run's cost comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// The CLI reported it in USD (Claude Code, aider).
    Reported,
    /// Its tokens priced with the adapter's `prices`.
    Priced,
    /// Some runs reported, some priced.
    Mixed,
    /// No cost: the CLI gave none and the adapter has no `prices` (or nothing was spent).
    #[default]
    None,
}

impl CostSource {
    /// The source of a sum of costs from `self` and `other`.
    pub fn and(self, other: CostSource) -> CostSource {
        match (self, other) {
            (a, CostSource::None) => a,
            (CostSource::None, b) => b,
            (a, b) if a == b => a,
            _ => CostSource::Mixed,
        }
    }

    /// A cost of `micros` from this source as people read it: `$0.0123 reported`, or
    /// `cost unknown` when nothing gave one (never `$0`).
    pub fn show(self, micros: u64) -> String {
        match self {
            CostSource::None => "cost unknown".into(),
            s => format!("${:.4} {}", micros as f64 / 1e6, s.as_str()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::Reported => "reported",
            CostSource::Priced => "priced",
            CostSource::Mixed => "mixed",
            CostSource::None => "none",
        }
    }
}

/// Tokens as every CLI's usage is normalized: `input` counts cached ones too, `output`
/// counts reasoning too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenSplit {
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl TokenSplit {
    pub fn add(&mut self, other: &TokenSplit) {
        self.input = self.input.saturating_add(other.input);
        self.cached_input = self.cached_input.saturating_add(other.cached_input);
        self.output = self.output.saturating_add(other.output);
        self.reasoning = self.reasoning.saturating_add(other.reasoning);
    }

    pub fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }
}

/// A tool call that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedTool {
    /// The CLI's name of the tool (`Bash`, `command_execution`, `run_shell_command`).
    pub name: String,
    /// The command, file or query (one line, cut).
    pub summary: String,
    /// The exit code of a failed command, when the CLI tells it.
    #[serde(default)]
    pub exit_code: Option<i32>,
}

/// One run of an agent's CLI.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunTelemetry {
    pub adapter: String,
    /// The model the CLI said it used, else the adapter's configured one.
    #[serde(default)]
    pub model: Option<String>,
    /// The CLI's verdict on the run.
    pub ok: bool,
    pub tool_calls: u32,
    /// Calls per tool name.
    #[serde(default)]
    pub tools: BTreeMap<String, u32>,
    #[serde(default)]
    pub failed_tools: Vec<FailedTool>,
    /// Files its edits touched, relative to the worktree (the repository), each once.
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub tokens: TokenSplit,
    /// The CLI reported no token counts (an `acp` agent that does not say, a `command` CLI):
    /// `tokens` are unknown, not 0.
    #[serde(default)]
    pub tokens_unknown: bool,
    #[serde(default)]
    pub cost_micros: u64,
    #[serde(default)]
    pub cost_source: CostSource,
}

/// A task's runs added up (kept after the task ends).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskTelemetry {
    pub runs: u32,
    pub failed_runs: u32,
    pub tool_calls: u32,
    pub tools: BTreeMap<String, u32>,
    /// The failed tool calls, oldest first (at most [`TaskTelemetry::MAX_FAILED`]).
    pub failed_tools: Vec<FailedTool>,
    /// All failed tool calls, also those past the list's cap.
    pub failed_tool_calls: u32,
    /// Files touched by any run, repo-relative, each once (at most [`TaskTelemetry::MAX_FILES`]).
    pub files: Vec<String>,
    pub tokens: TokenSplit,
    /// No run reported token counts: `tokens` are unknown, not 0.
    #[serde(default)]
    pub tokens_unknown: bool,
    pub cost_micros: u64,
    pub cost_source: CostSource,
    /// The adapters and models its runs used, in the order first seen.
    pub adapters: Vec<String>,
    pub models: Vec<String>,
}

impl TaskTelemetry {
    pub const MAX_FAILED: usize = 50;
    pub const MAX_FILES: usize = 500;

    /// Adds one run.
    pub fn add(&mut self, run: &RunTelemetry) {
        // Unknown while no run has reported tokens.
        self.tokens_unknown = run.tokens_unknown && (self.runs == 0 || self.tokens_unknown);
        self.runs += 1;
        if !run.ok {
            self.failed_runs += 1;
        }
        self.tool_calls = self.tool_calls.saturating_add(run.tool_calls);
        for (name, n) in &run.tools {
            *self.tools.entry(name.clone()).or_default() += n;
        }
        self.failed_tool_calls = self
            .failed_tool_calls
            .saturating_add(run.failed_tools.len() as u32);
        for f in &run.failed_tools {
            if self.failed_tools.len() < Self::MAX_FAILED {
                self.failed_tools.push(f.clone());
            }
        }
        for f in &run.files {
            if !self.files.contains(f) && self.files.len() < Self::MAX_FILES {
                self.files.push(f.clone());
            }
        }
        self.tokens.add(&run.tokens);
        self.cost_micros = self.cost_micros.saturating_add(run.cost_micros);
        self.cost_source = self.cost_source.and(run.cost_source);
        if !self.adapters.contains(&run.adapter) {
            self.adapters.push(run.adapter.clone());
        }
        if let Some(m) = &run.model {
            if !self.models.contains(m) {
                self.models.push(m.clone());
            }
        }
    }

    /// One line for a hand-off or a console: `3 runs · 7 tool calls (1 failed: Bash exit
    /// 2) · 2 files · 12000 in (3000 cached) / 800 out (200 reasoning) · $0.0123 reported ·
    /// gpt-5`.
    pub fn summary(&self) -> String {
        let failed = match self.failed_tools.first() {
            Some(f) => format!(
                " ({} failed: {}{})",
                self.failed_tool_calls,
                f.name,
                f.exit_code
                    .map(|c| format!(" exit {c}"))
                    .unwrap_or_default()
            ),
            None => String::new(),
        };
        let cost = self.cost_source.show(self.cost_micros);
        let tokens = if self.tokens_unknown {
            "tokens unknown".to_string()
        } else {
            let t = &self.tokens;
            format!(
                "{} in ({} cached) / {} out ({} reasoning)",
                t.input, t.cached_input, t.output, t.reasoning
            )
        };
        format!(
            "{} run{} · {} tool call{}{failed} · {} file{} · {tokens} · {cost}{}",
            self.runs,
            if self.runs == 1 { "" } else { "s" },
            self.tool_calls,
            if self.tool_calls == 1 { "" } else { "s" },
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" },
            if self.models.is_empty() {
                String::new()
            } else {
                format!(" · {}", self.models.join(", "))
            }
        )
    }
}

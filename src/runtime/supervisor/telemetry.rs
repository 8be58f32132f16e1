//! What a run did, tallied from its events as they come (issue 21 §3): tool calls by name and
//! which failed (with the exit code where the CLI tells it), the files its edits touched in
//! one repo-relative form for every CLI (codex `add /abs/path`, Claude's absolute paths,
//! Gemini's relative ones), the token split, the cost and its source, the model. The run's
//! end turns the tally into an `agent_run_reported` event.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::agent::{AgentEvent, PriceTable, ToolKind};
use crate::protocol::model::{CostSource, FailedTool, RunTelemetry};

/// The verbs codex puts before a `file_change` path (`update README.md, add /abs/x.rs`).
const CHANGE_VERBS: [&str; 6] = [
    "add ", "update ", "delete ", "remove ", "modify ", "rename ",
];

/// The tally of one run.
pub(super) struct RunTally {
    run: RunTelemetry,
    /// Started tools: id → (name, kind, summary).
    started: BTreeMap<String, (String, ToolKind, String)>,
}

impl RunTally {
    /// A run of `adapter`; `model` is the adapter's configured one until the CLI names its own.
    pub(super) fn new(adapter: &str, model: Option<String>) -> RunTally {
        RunTally {
            run: RunTelemetry {
                adapter: adapter.to_string(),
                model,
                // Until the CLI reports a token count.
                tokens_unknown: true,
                ..RunTelemetry::default()
            },
            started: BTreeMap::new(),
        }
    }

    /// Takes one event of the run into account; returns the repo-relative files an edit that
    /// just finished touched.
    pub(super) fn observe(
        &mut self,
        event: &AgentEvent,
        worktree: &Path,
        prices: Option<PriceTable>,
    ) -> Vec<String> {
        let run = &mut self.run;
        match event {
            AgentEvent::Started {
                model: Some(model), ..
            } => run.model = Some(model.clone()),
            AgentEvent::ToolStarted {
                id,
                kind,
                name,
                summary,
                ..
            } => {
                run.tool_calls += 1;
                *run.tools.entry(name.clone()).or_default() += 1;
                self.started
                    .insert(id.clone(), (name.clone(), *kind, summary.clone()));
            }
            AgentEvent::ToolFinished {
                id,
                ok,
                output,
                raw,
            } => {
                let Some((name, kind, summary)) = self.started.remove(id) else {
                    return Vec::new();
                };
                let code = exit_code(raw, output);
                // Gemini reports a command that exited non-zero as a success: its output
                // says the exit code.
                let failed = !ok || (kind == ToolKind::Shell && code.is_some_and(|c| c != 0));
                if failed {
                    run.failed_tools.push(FailedTool {
                        name,
                        summary: super::text::first_line(&summary, 160),
                        exit_code: code,
                    });
                    return Vec::new();
                }
                if kind == ToolKind::Edit {
                    let files = edited_files(&summary, worktree);
                    for f in &files {
                        if !run.files.contains(f) {
                            run.files.push(f.clone());
                        }
                    }
                    return files;
                }
            }
            AgentEvent::Usage { usage, .. } => {
                let counted = [
                    usage.input,
                    usage.cached_input,
                    usage.output,
                    usage.reasoning,
                ];
                if counted.iter().any(|n| *n > 0) {
                    run.tokens_unknown = false;
                }
                run.tokens.input += usage.input;
                run.tokens.cached_input += usage.cached_input;
                run.tokens.output += usage.output;
                run.tokens.reasoning += usage.reasoning;
                let (cost, source) = match (usage.cost_usd, prices) {
                    (Some(c), _) => (c, CostSource::Reported),
                    (None, Some(p)) => (crate::agent::cost(usage, &p), CostSource::Priced),
                    (None, None) => (0.0, CostSource::None),
                };
                run.cost_micros += (cost * 1e6).round().max(0.0) as u64;
                run.cost_source = run.cost_source.and(source);
            }
            AgentEvent::Finished { ok, .. } => run.ok = *ok,
            _ => {}
        }
        Vec::new()
    }

    /// The run's telemetry; tools still open at its end count as called, not failed.
    pub(super) fn report(&self) -> RunTelemetry {
        self.run.clone()
    }
}

/// The files an edit's summary names, relative to the worktree: codex's `update a.rs, add
/// /abs/b.rs`, Claude's absolute path, Gemini's relative one.
pub(super) fn edited_files(summary: &str, worktree: &Path) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for part in summary.split(", ") {
        let mut path = part.trim();
        for verb in CHANGE_VERBS {
            if let Some(rest) = path.strip_prefix(verb) {
                path = rest.trim();
                break;
            }
        }
        if path.is_empty() {
            continue;
        }
        let f = repo_relative(path, worktree);
        if !files.contains(&f) {
            files.push(f);
        }
    }
    files
}

/// `path` relative to the worktree (`./` and `..` resolved); a path outside it stays absolute.
pub(super) fn repo_relative(path: &str, worktree: &Path) -> String {
    let p = Path::new(path);
    let absolute = if p.is_absolute() {
        normalize(p)
    } else {
        normalize(&worktree.join(p))
    };
    for root in [normalize(worktree), canonical(worktree)] {
        if let Ok(rel) = absolute.strip_prefix(&root) {
            return rel.to_string_lossy().into_owned();
        }
    }
    absolute.to_string_lossy().into_owned()
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A finished command's exit code: codex's `item.exit_code`, else `Exit code N` / `Exit Code:
/// N` at the start of a line of the output (Claude's Bash, Gemini's `run_shell_command`).
fn exit_code(raw: &str, output: &str) -> Option<i32> {
    if raw.contains("\"exit_code\"") {
        if let Ok(v) = serde_json::from_str::<Value>(raw) {
            let code = v
                .get("item")
                .and_then(|i| i.get("exit_code"))
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok());
            if code.is_some() {
                return code;
            }
        }
    }
    output.lines().take(50).find_map(|line| {
        let lower = line.trim().to_lowercase();
        let rest = lower.strip_prefix("exit code")?;
        let rest = rest.trim_start_matches([':', ' ']);
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    })
}

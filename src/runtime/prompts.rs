//! The role prompts: one Markdown template per role (`config/roles/<role>.md`, built in; a
//! project can point `[roles.<role>] prompt` at its own), with `{{name}}` placeholders filled
//! from the task, followed by the common part every agent gets (`config/roles/_common.md`:
//! how to raise concerns, record hand-offs and propose variations through `overlord-tui`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::Config;
use crate::protocol::model::{Role, Task};

const COMMON: &str = include_str!("../../config/roles/_common.md");
const PM: &str = include_str!("../../config/roles/pm.md");
const DESIGNER: &str = include_str!("../../config/roles/designer.md");
const IMPLEMENTER: &str = include_str!("../../config/roles/implementer.md");
const TESTER: &str = include_str!("../../config/roles/tester.md");
const DEBUGGER: &str = include_str!("../../config/roles/debugger.md");
const REVIEWER: &str = include_str!("../../config/roles/reviewer.md");

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 14] = [
    "task_id",
    "title",
    "description",
    "acceptance_criteria",
    "expected_artifacts",
    "inputs",
    "agent",
    "role",
    "role_title",
    "worktree",
    "feedback",
    "parent_task",
    "debug_instructions",
    "attempt",
];

/// The built-in template of a role.
pub fn built_in(role: Role) -> &'static str {
    match role {
        Role::ProjectManager | Role::Human => PM,
        Role::Designer => DESIGNER,
        Role::Implementer => IMPLEMENTER,
        Role::Tester => TESTER,
        Role::Debugger => DEBUGGER,
        Role::Reviewer => REVIEWER,
    }
}

/// The template of a role: the configured file, else the built-in one. A configured file that
/// cannot be read gives the built-in template and a warning.
pub fn template(config: &Config, root: &Path, role: Role) -> (String, Option<String>) {
    let configured = &config.roles.get(role).prompt;
    if configured.trim().is_empty() {
        return (built_in(role).to_string(), None);
    }
    let path = root.join(configured.trim());
    match std::fs::read_to_string(&path) {
        Ok(t) => (t, None),
        Err(e) => (
            built_in(role).to_string(),
            Some(format!(
                "[roles.{role}] prompt = \"{configured}\": {e}; using the built-in prompt"
            )),
        ),
    }
}

/// Placeholders in `template` that are not known (a typo in a user's template).
pub fn unknown_placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else { break };
        let name = after[..j].trim();
        if !PLACEHOLDERS.contains(&name) && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
        rest = &after[j + 2..];
    }
    out
}

/// Fills `{{name}}` placeholders; unknown ones stay as they are.
pub fn fill(template: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) => {
                let name = after[..j].trim();
                match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push_str("{{");
                        out.push_str(&after[..j]);
                        out.push_str("}}");
                    }
                }
                rest = &after[j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn bullets(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items
            .iter()
            .map(|i| format!("- {i}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What a prompt is built from besides the task.
pub struct PromptContext<'a> {
    pub agent: &'a str,
    pub worktree: &'a Path,
    pub attempt: u32,
    /// Inputs: the artifacts of the tasks this one depends on.
    pub inputs: Vec<String>,
    /// Why this run happens again: a rejection's reason, a previous failure, a redirection.
    pub feedback: Option<String>,
}

/// The whole prompt of a task's run.
pub fn render(template: &str, task: &Task, ctx: &PromptContext<'_>) -> String {
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("task_id", task.id.clone());
    vars.insert("title", task.title.clone());
    vars.insert("description", task.description.clone());
    vars.insert(
        "acceptance_criteria",
        bullets(
            &task.acceptance_criteria,
            "- (none given: use the description)",
        ),
    );
    vars.insert(
        "expected_artifacts",
        bullets(&task.expected_artifacts, "- (none listed)"),
    );
    vars.insert("inputs", bullets(&ctx.inputs, "- (none)"));
    vars.insert("agent", ctx.agent.to_string());
    vars.insert("role", task.role.to_string());
    vars.insert("role_title", task.role.title().to_string());
    vars.insert("worktree", ctx.worktree.display().to_string());
    vars.insert("attempt", ctx.attempt.to_string());
    vars.insert(
        "parent_task",
        task.parent_id.clone().unwrap_or_else(|| task.id.clone()),
    );
    vars.insert(
        "debug_instructions",
        task.debug_instructions
            .clone()
            .unwrap_or_else(|| "(no details recorded)".into()),
    );
    vars.insert(
        "feedback",
        match &ctx.feedback {
            Some(f) => format!("\n## Feedback on the previous attempt\n\n{f}\n\nStart with a short summary of what you change in response (a delta summary).\n"),
            None => String::new(),
        },
    );
    let mut out = fill(template, &vars);
    out.push_str(&fill(COMMON, &vars));
    out
}

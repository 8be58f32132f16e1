//! Plan import: reads a TodoList JSON file (seed 003's shape: phases → tasks with
//! dependencies, role, acceptance criteria, expected artifacts; or a flat task list) and
//! validates it. Duplicate ids, unknown dependencies and dependency cycles are errors that
//! name the task.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::protocol::model::{AcceptanceCheck, Expect, Phase, Plan, Role, Task, TaskStatus};
use crate::protocol::{suggest, RejectCode, Rejection};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TodoList {
    #[serde(alias = "todo_list_id", alias = "workflow_id")]
    id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    #[serde(default)]
    phases: Vec<TodoPhase>,
    #[serde(default)]
    tasks: Vec<TodoTask>,
    #[serde(default, alias = "created_at")]
    #[allow(dead_code)]
    created: Option<serde_json::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TodoPhase {
    id: String,
    #[serde(alias = "title")]
    name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    tasks: Vec<TodoTask>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Criterion {
    Text(String),
    Structured {
        description: Option<String>,
        command: Option<String>,
        #[serde(alias = "expected")]
        expect: Option<serde_json::Value>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Priority {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TodoTask {
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(alias = "role", alias = "agent")]
    agent_role: String,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default, alias = "depends_on")]
    dependencies: Vec<String>,
    #[serde(default)]
    acceptance_criteria: Vec<Criterion>,
    #[serde(default, alias = "artifacts")]
    expected_artifacts: Vec<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    is_temporary: bool,
    #[serde(default)]
    max_debug_attempts: Option<u32>,
    #[serde(default)]
    branch_reason: Option<String>,
    #[serde(default)]
    debug_instructions: Option<String>,
    #[serde(default, alias = "timeout")]
    timeout_seconds: Option<u64>,
    #[serde(default)]
    max_retries: Option<u32>,
    #[serde(default)]
    #[allow(dead_code)]
    metrics: Option<serde_json::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    estimated_minutes: Option<serde_json::Value>,
}

fn invalid(source: &str, message: impl std::fmt::Display) -> Rejection {
    Rejection::new(
        RejectCode::InvalidInput,
        format!("plan {source}: {message}"),
    )
}

/// Parses and validates a TodoList. `source` names the file in messages.
pub fn parse_todo_list(text: &str, source: &str, now: &str) -> Result<Plan, Rejection> {
    let list: TodoList = serde_json::from_str(text).map_err(|e| invalid(source, e))?;
    let phases = group_into_phases(list.phases, list.tasks, source)?;
    let out_phases = build_phases(phases, source)?;
    let all: Vec<&Task> = out_phases.iter().flat_map(|p| p.tasks.iter()).collect();
    check_links(&all, source)?;
    if let Some(cycle) = find_cycle(&all) {
        return Err(invalid(
            source,
            format!("dependency cycle: {}", cycle.join(" → ")),
        ));
    }

    let id = list
        .id
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "plan".to_string());
    let title = list
        .title
        .or(list.description)
        .unwrap_or_else(|| id.clone());
    Ok(Plan {
        id,
        title,
        source: source.to_string(),
        imported_at: now.to_string(),
        phases: out_phases,
    })
}

/// A phase as read: its id, its name and its tasks.
type ReadPhase = (String, String, Vec<TodoTask>);

/// The phases with their tasks: the listed phases, then the flat tasks in the phase they
/// name (or a single default phase). Refuses empty or duplicate phase ids and an empty plan.
fn group_into_phases(
    listed: Vec<TodoPhase>,
    flat: Vec<TodoTask>,
    source: &str,
) -> Result<Vec<ReadPhase>, Rejection> {
    let mut phases: Vec<ReadPhase> = Vec::new();
    for p in listed {
        if p.id.trim().is_empty() {
            return Err(invalid(source, "a phase has an empty id"));
        }
        if phases.iter().any(|(id, _, _)| *id == p.id) {
            return Err(invalid(source, format!("duplicate phase id '{}'", p.id)));
        }
        let name = p.name.unwrap_or_else(|| p.id.clone());
        phases.push((p.id, name, p.tasks));
    }
    // Flat tasks join the phase they name, or a single default phase.
    for t in flat {
        let phase_id = t.phase.clone().unwrap_or_else(|| "phase-1".to_string());
        match phases.iter_mut().find(|(id, _, _)| *id == phase_id) {
            Some((_, _, tasks)) => tasks.push(t),
            None => {
                let name = if t.phase.is_none() {
                    "Phase 1".to_string()
                } else {
                    phase_id.clone()
                };
                phases.push((phase_id, name, vec![t]));
            }
        }
    }
    if phases.iter().all(|(_, _, tasks)| tasks.is_empty()) {
        return Err(invalid(source, "it has no tasks"));
    }
    Ok(phases)
}

/// The plan's phases, each task checked (id, unique, role, status) and converted.
fn build_phases(phases: Vec<ReadPhase>, source: &str) -> Result<Vec<Phase>, Rejection> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out_phases = Vec::new();
    let mut index = 0usize;
    for (pid, pname, tasks) in phases {
        let mut out_tasks = Vec::new();
        for t in tasks {
            index += 1;
            out_tasks.push(task_of(t, index, &mut seen, source)?);
        }
        out_phases.push(Phase {
            id: pid,
            name: pname,
            tasks: out_tasks,
            promoted_at: None,
        });
    }
    Ok(out_phases)
}

/// One task of the list (the `index`th, counted over the whole plan), checked and converted;
/// `seen` holds the ids met so far.
fn task_of(
    t: TodoTask,
    index: usize,
    seen: &mut BTreeMap<String, usize>,
    source: &str,
) -> Result<Task, Rejection> {
    if t.id.trim().is_empty() || !crate::protocol::grammar::is_ident(&t.id) {
        return Err(invalid(
            source,
            format!(
                "task {index} has an invalid id '{}' (letters, digits and . _ - : / @ only)",
                t.id
            ),
        ));
    }
    if let Some(first) = seen.insert(t.id.clone(), index) {
        return Err(invalid(
            source,
            format!("duplicate task id '{}' (tasks {first} and {index})", t.id),
        ));
    }
    let role: Role = t
        .agent_role
        .parse()
        .map_err(|e: String| invalid(source, format!("task '{}': {e}", t.id)))?;
    let status = match &t.status {
        None => TaskStatus::Todo,
        Some(s) => s
            .parse()
            .map_err(|e: String| invalid(source, format!("task '{}': {e}", t.id)))?,
    };
    let checks = t
        .acceptance_criteria
        .iter()
        .enumerate()
        .filter_map(|(i, c)| acceptance_check(c).map_err(|e| (i, e)).transpose())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|(i, e)| {
            invalid(
                source,
                format!("task '{}': acceptance criterion {}: {e}", t.id, i + 1),
            )
        })?;
    let criteria = t
        .acceptance_criteria
        .into_iter()
        .map(criterion_text)
        .collect();
    Ok(Task {
        id: t.id,
        title: t.title,
        description: t.description.unwrap_or_default(),
        role,
        priority: match t.priority {
            None => "medium".to_string(),
            Some(Priority::Text(s)) => s,
            Some(Priority::Number(n)) => n.to_string(),
        },
        dependencies: t.dependencies,
        acceptance_criteria: criteria,
        acceptance_checks: checks,
        expected_artifacts: t.expected_artifacts,
        status,
        parent_id: t.parent_id,
        is_temporary: t.is_temporary,
        max_debug_attempts: t.max_debug_attempts,
        branch_reason: t.branch_reason,
        debug_instructions: t.debug_instructions,
        timeout_seconds: t.timeout_seconds,
        max_retries: t.max_retries,
        owner: None,
        commentary: Vec::new(),
    })
}

/// The command of a criterion that has one, with what it expects; a command that is empty
/// or an `expect` that is neither an exit code nor text is an error.
fn acceptance_check(c: &Criterion) -> Result<Option<AcceptanceCheck>, String> {
    let Criterion::Structured {
        description,
        command: Some(command),
        expect,
    } = c
    else {
        return Ok(None);
    };
    if command.trim().is_empty() {
        return Err(
            "its command is empty (leave `command` out for a criterion checked by \
                    reading)"
                .to_string(),
        );
    }
    let expect = match expect {
        Some(v) => Expect::from_json(v)?,
        None => None,
    };
    Ok(Some(AcceptanceCheck {
        description: description
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| command.clone()),
        command: command.clone(),
        expect,
    }))
}

/// An acceptance criterion as one line: its text, or its description, command and what
/// is expected.
fn criterion_text(c: Criterion) -> String {
    match c {
        Criterion::Text(s) => s,
        Criterion::Structured {
            description,
            command,
            expect,
        } => {
            let mut s = description.unwrap_or_default();
            if let Some(cmd) = command {
                if !s.is_empty() {
                    s.push_str(": ");
                }
                s.push('`');
                s.push_str(&cmd);
                s.push('`');
            }
            if let Some(e) = expect {
                s.push_str(&format!(" (expect {e})"));
            }
            s
        }
    }
}

/// Every dependency and parent names a task of the plan (and no task depends on itself).
fn check_links(all: &[&Task], source: &str) -> Result<(), Rejection> {
    let ids: BTreeSet<&str> = all.iter().map(|t| t.id.as_str()).collect();
    for t in all {
        for d in &t.dependencies {
            if d == &t.id {
                return Err(invalid(
                    source,
                    format!("task '{}' depends on itself", t.id),
                ));
            }
            if !ids.contains(d.as_str()) {
                let mut r = invalid(
                    source,
                    format!("task '{}' depends on unknown task '{d}'", t.id),
                );
                r.suggestion = suggest(d, ids.iter().copied()).map(|s| format!("'{s}'"));
                return Err(r);
            }
        }
        if let Some(p) = &t.parent_id {
            if !ids.contains(p.as_str()) {
                return Err(invalid(
                    source,
                    format!("task '{}' has unknown parent '{p}'", t.id),
                ));
            }
        }
    }
    Ok(())
}

/// A dependency cycle, as the task ids around it (first repeated at the end), if any.
fn find_cycle(tasks: &[&Task]) -> Option<Vec<String>> {
    let deps: BTreeMap<&str, &Vec<String>> = tasks
        .iter()
        .map(|t| (t.id.as_str(), &t.dependencies))
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut mark: BTreeMap<&str, u8> = BTreeMap::new();
    for start in tasks.iter().map(|t| t.id.as_str()) {
        if mark.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        // Iterative DFS keeping the path, so deep plans cannot overflow the stack.
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        mark.insert(start, 1);
        while let Some((node, next)) = path.last().copied() {
            let children = deps.get(node).map(|v| v.as_slice()).unwrap_or(&[]);
            if next < children.len() {
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                let child = children[next].as_str();
                match mark.get(child).copied().unwrap_or(0) {
                    0 => {
                        mark.insert(child, 1);
                        path.push((child, 0));
                    }
                    1 => {
                        let from = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[from..].iter().map(|(n, _)| n.to_string()).collect();
                        cycle.push(child.to_string());
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                mark.insert(node, 2);
                path.pop();
            }
        }
    }
    None
}

/// Acceptance criteria written as a TodoList writes them (text, or `{description, command,
/// expect}`): the lines and the checks with a command. Text ending in a backtick-quoted
/// command (`` Unit tests pass: `cargo test` ``) is also a check, as an approval's conditions
/// are. The error names the criterion (1-based).
pub fn criteria_from_json(
    values: &[serde_json::Value],
) -> Result<(Vec<String>, Vec<AcceptanceCheck>), String> {
    let mut criteria = Vec::new();
    let mut checks = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let c: Criterion = serde_json::from_value(v.clone()).map_err(|_| {
            format!(
                "acceptance criterion {}: expected text or {{description, command, expect}}, found {v}",
                i + 1
            )
        })?;
        match acceptance_check(&c).map_err(|e| format!("acceptance criterion {}: {e}", i + 1))? {
            Some(check) => checks.push(check),
            None => {
                if let Criterion::Text(t) = &c {
                    checks.extend(condition_command(t.trim().trim_end_matches('.').trim()));
                }
            }
        }
        criteria.push(criterion_text(c));
    }
    Ok((criteria, checks))
}

/// The conditions of an approval as acceptance criteria: one per line or `;`-separated
/// part (outside backticks). A condition that is a backtick-quoted command (`` `make
/// check` ``), or text ending in one (`` docs build: `make docs` ``), is also a command
/// criterion (expected to exit 0); anything else is a criterion to read.
pub fn conditions_as_criteria(conditions: &str) -> (Vec<String>, Vec<AcceptanceCheck>) {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in conditions.chars() {
        match ch {
            '`' => {
                quoted = !quoted;
                current.push(ch);
            }
            ';' | '\n' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    parts.push(current);
    let mut criteria = Vec::new();
    let mut checks = Vec::new();
    for part in parts {
        let text = part.trim().trim_end_matches('.').trim();
        if text.is_empty() {
            continue;
        }
        criteria.push(text.to_string());
        if let Some(check) = condition_command(text) {
            checks.push(check);
        }
    }
    (criteria, checks)
}

/// The command of a condition written `` `command` `` or `` text: `command` ``.
fn condition_command(text: &str) -> Option<AcceptanceCheck> {
    let inner = text.strip_suffix('`')?;
    let open = inner.rfind('`')?;
    let command = inner[open + 1..].trim();
    let before = inner[..open].trim();
    let description = match before.strip_suffix(':') {
        Some(d) if !d.trim().is_empty() && !d.contains('`') => d.trim().to_string(),
        _ if before.is_empty() => command.to_string(),
        _ => return None,
    };
    (!command.is_empty()).then(|| AcceptanceCheck {
        description,
        command: command.to_string(),
        expect: None,
    })
}

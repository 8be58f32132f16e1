//! Reading tickets (seed 002 §5.1) and turning them into work: the JSON as the seed writes
//! it (one ticket, an array, or `{"tickets": [...]}`), validated with errors that name the
//! ticket; the deduplication key (type + normalized title, or an analyst's evidence key);
//! and the plan task an approved ticket becomes (role by type, acceptance criteria with
//! commands carried over as checks).

use serde::{Deserialize, Serialize};

use crate::protocol::model::{
    Role, Task, Ticket, TicketContext, TicketKind, TicketPriority, TicketStatus,
};

/// A ticket as written, before it is filed (no status, no filing time yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketDraft {
    /// Seed 002 gives one (`ENG-1042`); left out, the queue numbers it `T-<n>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, alias = "summary", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub context: TicketContext,
    #[serde(default)]
    pub acceptance_criteria: Vec<serde_json::Value>,
    /// What shows the problem, one line each (the analysts fill it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// What deduplication compares instead of the title (an analyst's module or cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_key: Option<String>,
    /// Who wrote it (`discovery:coverage`, …); `human` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing)]
    #[allow(dead_code)]
    labels: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    #[allow(dead_code)]
    metadata: Option<serde_json::Value>,
}

impl TicketDraft {
    /// A draft with the seed's fields; the rest left out.
    pub fn new(kind: TicketKind, priority: TicketPriority, title: impl Into<String>) -> Self {
        TicketDraft {
            id: None,
            kind: kind.as_str().to_string(),
            priority: Some(priority.as_str().to_string()),
            title: Some(title.into()),
            description: None,
            context: TicketContext::default(),
            acceptance_criteria: Vec::new(),
            evidence: Vec::new(),
            evidence_key: None,
            source: None,
            labels: None,
            metadata: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TicketFile {
    Many(Vec<serde_json::Value>),
    Wrapped { tickets: Vec<serde_json::Value> },
    One(serde_json::Value),
}

/// Reads the tickets of a file's text: one ticket, an array of them, or `{"tickets": [...]}`.
/// Every ticket is checked (type, priority, criteria); the error names the ticket. An empty
/// batch is an error.
pub fn parse_tickets(text: &str, source: &str) -> Result<Vec<TicketDraft>, String> {
    let file: TicketFile =
        serde_json::from_str(text).map_err(|e| format!("tickets {source}: not valid JSON: {e}"))?;
    let values = match file {
        TicketFile::Many(v) | TicketFile::Wrapped { tickets: v } => v,
        TicketFile::One(v) => vec![v],
    };
    if values.is_empty() {
        return Err(format!(
            "tickets {source}: the batch is empty (no ticket to file)"
        ));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let name = v
                .get("id")
                .and_then(|id| id.as_str())
                .map(|id| format!("ticket '{id}'"))
                .unwrap_or_else(|| format!("ticket {}", i + 1));
            let draft: TicketDraft =
                serde_json::from_value(v).map_err(|e| format!("tickets {source}: {name}: {e}"))?;
            check(&draft).map_err(|e| format!("tickets {source}: {name}: {e}"))?;
            Ok(draft)
        })
        .collect()
}

/// The checks a draft must pass before it is filed.
fn check(d: &TicketDraft) -> Result<(), String> {
    if let Some(id) = &d.id {
        check_id(id)?;
    }
    d.kind.parse::<TicketKind>()?;
    if let Some(p) = &d.priority {
        p.parse::<TicketPriority>()?;
    }
    crate::core::plan::criteria_from_json(&d.acceptance_criteria)?;
    if title_of(d).trim().is_empty() {
        return Err("it has no title, error log or acceptance criterion to name it".into());
    }
    Ok(())
}

/// A ticket id becomes a task id: letters, digits and `. _ - : /`, at most 64.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/'))
        && !id.eq_ignore_ascii_case("all");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid id '{}' (1 to 64 letters, digits and . _ - : /; not `all`)",
            id.escape_debug()
        ))
    }
}

/// The title: as written, else the first line of the error log, else the first criterion.
fn title_of(d: &TicketDraft) -> String {
    if let Some(t) = d.title.as_ref().filter(|t| !t.trim().is_empty()) {
        return t.trim().to_string();
    }
    if let Some(line) = d
        .context
        .error_logs
        .as_deref()
        .and_then(|l| l.lines().map(str::trim).find(|l| !l.is_empty()))
    {
        return format!("fix: {line}");
    }
    d.acceptance_criteria
        .first()
        .map(|c| match c {
            serde_json::Value::String(s) => s.clone(),
            other => other
                .get("description")
                .and_then(|d| d.as_str())
                .unwrap_or_default()
                .to_string(),
        })
        .unwrap_or_default()
}

/// Lowercase words, digit runs as `#`, one space between: "Fix NPE at line 42" and
/// "fix npe at  line 7" compare equal.
pub fn normalize(text: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        let mut last_digit = false;
        for c in word.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_digit() {
                if !last_digit {
                    out.push('#');
                }
                last_digit = true;
            } else {
                out.push(c);
                last_digit = false;
            }
        }
    }
    out
}

/// The ticket a checked draft files as (`id` given or numbered by the caller).
pub fn file(d: &TicketDraft, id: String, actor: &str, now: &str) -> Ticket {
    let kind: TicketKind = d.kind.parse().unwrap_or(TicketKind::Chore);
    let title = title_of(d);
    let dedup_key = match &d.evidence_key {
        Some(k) if !k.trim().is_empty() => format!("{kind}:{}", k.trim()),
        _ => format!("{kind}:{}", normalize(&title)),
    };
    Ticket {
        id,
        kind,
        priority: d
            .priority
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(TicketPriority::Medium),
        title,
        description: d.description.clone(),
        context: d.context.clone(),
        acceptance_criteria: d.acceptance_criteria.clone(),
        evidence: d.evidence.clone(),
        source: d.source.clone().unwrap_or_else(|| actor.to_string()),
        dedup_key,
        filed_at: now.to_string(),
        status: TicketStatus::ReadyForRobot,
        approved_at: None,
    }
}

/// The role that works a ticket: a bug with an error log goes to the debugger (there is a
/// failure to diagnose), any other ticket to the implementer.
pub fn role_for(t: &Ticket) -> Role {
    let has_log = t
        .context
        .error_logs
        .as_deref()
        .is_some_and(|l| !l.trim().is_empty());
    match t.kind {
        TicketKind::Bug if has_log => Role::Debugger,
        _ => Role::Implementer,
    }
}

/// The plan task an approved ticket becomes: the ticket's id, its role by type, its
/// priority, the context in the description, and its criteria (commands as checks).
pub fn task_of(t: &Ticket) -> Result<Task, String> {
    let (criteria, checks) = crate::core::plan::criteria_from_json(&t.acceptance_criteria)
        .map_err(|e| format!("ticket {}: {e}", t.id))?;
    let mut description = format!("{} ticket {} ({} priority)", t.kind, t.id, t.priority);
    if let Some(d) = &t.description {
        description.push_str(&format!("\n\n{d}"));
    }
    if let Some(r) = &t.context.repo {
        description.push_str(&format!("\n\nRepository: {r}"));
    }
    if !t.context.filepaths.is_empty() {
        description.push_str(&format!("\nFiles: {}", t.context.filepaths.join(", ")));
    }
    if !t.evidence.is_empty() {
        description.push_str("\n\nEvidence:\n");
        for e in &t.evidence {
            description.push_str(&format!("- {e}\n"));
        }
    }
    if let Some(logs) = t
        .context
        .error_logs
        .as_deref()
        .filter(|l| !l.trim().is_empty())
    {
        description.push_str(&format!("\n\nError logs:\n{logs}"));
    }
    let mut task = Task::new(
        t.id.clone(),
        t.title.clone(),
        description,
        role_for(t),
        t.priority.as_str(),
    );
    task.acceptance_criteria = criteria;
    task.acceptance_checks = checks;
    Ok(task)
}

//! The commands of the grammar: name, usage, summary, whether a governor gives it, and the
//! flags it takes — for parsing, `/help` and completion.

use crate::protocol::report::HelpEntry;

/// One command of the grammar, for parsing, help text and completion.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
    /// A governor's command (shown in `/help` and mirrored as a Discord slash command);
    /// the others are the calls agents and scripts make.
    pub human: bool,
    pub flags: &'static [&'static str],
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "status", usage: "/status", summary: "show phase, agents, tasks, open concerns, approvals and the last checkpoint", human: true, flags: &[] },
    CommandSpec { name: "help", usage: "/help [command]", summary: "list the commands, or explain one", human: true, flags: &[] },
    CommandSpec { name: "clarify", usage: "/clarify <agent> <message>", summary: "ask an agent to explain something; its answer is logged and shown", human: true, flags: &[] },
    CommandSpec { name: "assign", usage: "/assign <agent> [<concern>] <text>", summary: "redirect an agent's work, or assign a concern to it", human: true, flags: &[] },
    CommandSpec { name: "ack", usage: "/ack <concern>", summary: "acknowledge a concern", human: true, flags: &[] },
    CommandSpec { name: "resolve", usage: "/resolve <concern> [note]", summary: "mark a concern resolved", human: true, flags: &[] },
    CommandSpec { name: "approve", usage: "/approve <target> [--conditions <text>] [note] | /approve tickets <ids|all>", summary: "approve a pending plan, design spec, test plan, variation or promotion; or a batch of queued tickets", human: true, flags: &["conditions"] },
    CommandSpec { name: "defer", usage: "/defer <target> [note]", summary: "defer a decision and ask for more data", human: true, flags: &[] },
    CommandSpec { name: "reject", usage: "/reject <target> <reason>", summary: "reject a pending approval and send it back with the reason", human: true, flags: &[] },
    CommandSpec { name: "promote", usage: "/promote <phase>", summary: "promote a finished phase: QA on main, version tag, release branch moved", human: true, flags: &[] },
    CommandSpec { name: "plan", usage: "/plan <goal>", summary: "ask the planner for a plan for the goal; the valid plan it writes awaits your approval", human: true, flags: &[] },
    CommandSpec { name: "pause", usage: "/pause <agent|all>", summary: "suspend one agent, or all of them and stop dispatch (kill switch)", human: true, flags: &[] },
    CommandSpec { name: "resume", usage: "/resume <agent|all>", summary: "resume one agent, or all of them and dispatch", human: true, flags: &[] },
    CommandSpec { name: "save", usage: "/save", summary: "integrate everything that passed QA into a tagged checkpoint", human: true, flags: &[] },
    CommandSpec { name: "rollback", usage: "/rollback <checkpoint|undo> [--branch <name>] [reason]", summary: "restore an earlier checkpoint as a new commit on main (history kept), or on a new branch; `undo` reverses the last rollback", human: true, flags: &["branch"] },
    CommandSpec { name: "adopt", usage: "/adopt main", summary: "accept commits made on main outside Overlord (main moved or rewound by hand)", human: true, flags: &[] },
    CommandSpec { name: "restore", usage: "/restore main", summary: "put main back where Overlord left it; the outside commits go on a new branch outside/<date>-<n>", human: true, flags: &[] },
    CommandSpec { name: "integrate", usage: "/integrate", summary: "merge the finished task branches into the integration branch and run the QA gates there (main does not move; Overlord does this whenever a task finishes)", human: false, flags: &[] },
    CommandSpec { name: "raise", usage: "/raise --severity <info|warning|critical> --category <category> [--from <role>] [--to <role>] [--task <task>] [--details <text>] <summary>", summary: "raise a concern up the chain", human: false, flags: &["severity", "category", "from", "to", "task", "details"] },
    CommandSpec { name: "handoff", usage: "/handoff --from <role> --to <role> --purpose <text> [--input <file>]… [--output <file>]… [--impact <low|medium|high>] [--status <status>] [--task <task>] <summary>", summary: "record a hand-off between roles", human: false, flags: &["from", "to", "purpose", "input", "output", "impact", "status", "task"] },
    CommandSpec { name: "propose", usage: "/propose --impact <low|medium|high> [--from <role>] [--rationale <text>] [--affects <module>]… <title>", summary: "propose a variation; high impact goes to the human", human: false, flags: &["impact", "from", "rationale", "affects"] },
    CommandSpec { name: "request", usage: "/request <plan|design_spec|test_plan> <subject> [--from <role>] <summary>", summary: "ask the human to approve an artifact", human: false, flags: &["from"] },
    CommandSpec { name: "answer", usage: "/answer <clarification> <text>", summary: "answer a clarification question", human: false, flags: &[] },
    CommandSpec { name: "import", usage: "/import <plan.json>", summary: "import a plan (seed 003 TodoList JSON)", human: false, flags: &[] },
    CommandSpec { name: "ticket", usage: "/ticket <tickets.json>", summary: "file tickets (seed 002 JSON) into the ready-for-robot queue", human: false, flags: &[] },
    CommandSpec { name: "agent", usage: "/agent <id> --role <role> [--adapter <adapter>] [--task <task>]", summary: "register an agent", human: false, flags: &["role", "adapter", "task"] },
    CommandSpec { name: "task", usage: "/task <task> <status> [note]", summary: "set a task's status (todo, in_progress, blocked, needs_review, done, failed)", human: false, flags: &[] },
    CommandSpec { name: "link", usage: "/link <concern> <message id>", summary: "record the Discord message that shows a concern (the Discord bridge)", human: false, flags: &[] },
];

pub fn spec(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The help entries for `/help`, or for one command.
pub fn help_entries(command: Option<&str>) -> Vec<HelpEntry> {
    COMMANDS
        .iter()
        .filter(|c| match command {
            Some(name) => c.name == name,
            None => true,
        })
        .map(|c| HelpEntry {
            command: format!("/{}", c.name),
            usage: c.usage.to_string(),
            summary: c.summary.to_string(),
        })
        .collect()
}

//! The plan: pending human approvals first, then each phase with its tasks — status, role,
//! owner, dependencies, the latest code review — and the branch todos under their parents.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{inner, Ctx};
use crate::protocol::model::{Task, TaskStatus};
use crate::tui::text::{clean, fit};
use crate::tui::theme::Slot;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanView {
    pub offset: usize,
}

fn status_slot(s: TaskStatus) -> Slot {
    match s {
        TaskStatus::Todo => Slot::Dim,
        TaskStatus::InProgress => Slot::Running,
        TaskStatus::Blocked => Slot::Warn,
        TaskStatus::NeedsReview => Slot::Badge,
        TaskStatus::Done => Slot::Ok,
        TaskStatus::Failed => Slot::Failed,
    }
}

fn task_line<'a>(ctx: &Ctx<'_>, t: &Task, width: usize) -> Line<'a> {
    let indent = if t.is_temporary { "  ↳ " } else { "  " };
    let deps = if t.dependencies.is_empty() {
        String::new()
    } else {
        format!(" ⇠ {}", t.dependencies.join(","))
    };
    let owner = t.owner.as_deref().map(clean).unwrap_or_else(|| "—".into());
    // Ids (the task's, its owner's) are never cut: the role gives way first, then the title.
    let head = format!("{indent}{:<14} ", clean(&t.id));
    // Finished but held back from integration by governance: the reason is on its line.
    let held = (t.status == TaskStatus::Done)
        .then(|| ctx.state.held_back(&t.id))
        .flatten();
    let status = match &held {
        Some(_) => format!("{:<12} ", "done, held"),
        None => format!("{:<12} ", t.status.as_str()),
    };
    let room = width.saturating_sub(head.chars().count() + status.chars().count());
    let owner = format!("{owner:<14}");
    let role = if width == 0 || room >= 12 + owner.chars().count() + 2 {
        format!("{:<11} ", t.role.to_string())
    } else {
        String::new()
    };
    let mut rest = format!("{role}{owner} {}{deps}", clean(&t.title));
    if let Some(why) = &held {
        rest.push_str(&format!(" — held: {}", clean(why)));
    }
    let used = head.chars().count() + status.chars().count();
    Line::from(vec![
        Span::styled(head, ctx.style(Slot::Text)),
        Span::styled(
            status,
            ctx.style(match held {
                Some(_) => Slot::Warn,
                None => status_slot(t.status),
            }),
        ),
        Span::styled(
            fit(&rest, width.saturating_sub(used)),
            ctx.style(Slot::Text),
        ),
    ])
}

pub fn render(ctx: &Ctx<'_>, view: &PlanView, area: Rect, buf: &mut Buffer) {
    let body = inner(area);
    let Some(plan) = &ctx.state.plan else {
        ctx.block("Plan", None).render(area, buf);
        Line::from(Span::styled(
            "no plan yet: overlord-tui plan import FILE",
            ctx.style(Slot::Dim),
        ))
        .render(body, buf);
        return;
    };
    let done = plan
        .tasks()
        .filter(|t| t.status == TaskStatus::Done)
        .count();
    let block = ctx.block(
        "Plan",
        Some(format!(
            "{} · {done}/{} done",
            fit(&clean(&plan.title), 30),
            plan.tasks().count()
        )),
    );
    let lines = lines(ctx, body.width as usize);
    let offset = super::clamp_offset(view.offset, lines.len(), body.height);
    Paragraph::new(lines)
        .block(block)
        .scroll((offset, 0))
        .render(area, buf);
}

/// Findings shown under a task before "… N more".
const FINDINGS_SHOWN: usize = 3;

/// The task's latest review under its line: the round, the verdict and who gave it, then its
/// first findings (all of them are in the diff viewer, next to their lines).
fn review_lines<'a>(ctx: &Ctx<'_>, task: &str, width: usize) -> Vec<Line<'a>> {
    let Some(r) = ctx.state.reviews.iter().rev().find(|r| r.task == task) else {
        return Vec::new();
    };
    let slot = match r.verdict {
        crate::protocol::model::Verdict::Approve => Slot::Ok,
        crate::protocol::model::Verdict::RequestChanges => Slot::Warn,
    };
    let mut head = format!(
        "      review {} · {} by {}: {}",
        r.round,
        r.verdict,
        clean(&r.reviewer),
        crate::protocol::report::plural(r.findings.len(), "finding")
    );
    if let Some(summary) = &r.summary {
        head.push_str(&format!(" — {}", clean(summary)));
    }
    let mut out = vec![Line::from(Span::styled(fit(&head, width), ctx.style(slot)))];
    let findings = r.finding_lines();
    for f in findings.iter().take(FINDINGS_SHOWN) {
        out.push(Line::from(Span::styled(
            fit(&format!("        {}", clean(f)), width),
            ctx.style(Slot::Text),
        )));
    }
    if findings.len() > FINDINGS_SHOWN {
        out.push(Line::from(Span::styled(
            fit(
                &format!(
                    "        … {} more (the diff viewer shows each next to its line)",
                    findings.len() - FINDINGS_SHOWN
                ),
                width,
            ),
            ctx.style(Slot::Dim),
        )));
    }
    out
}

/// How many lines the plan shows (what its offset scrolls through).
pub fn line_count(state: &crate::protocol::State) -> usize {
    lines(&Ctx::counting(state), 0).len()
}

/// The plan's lines: the approvals awaiting the human, then each phase with its tasks (the
/// branch todos under their parents). None without a plan.
fn lines<'a>(ctx: &Ctx<'_>, width: usize) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = Vec::new();
    let Some(plan) = &ctx.state.plan else {
        return lines;
    };
    let pending: Vec<_> = ctx.state.pending_approvals().collect();
    if !pending.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("Awaiting you ({})", pending.len()),
            ctx.style(Slot::Warn),
        )));
        for a in pending {
            let text = format!(
                "  {} {} {} — {}",
                a.id,
                a.kind,
                clean(&a.subject),
                clean(&a.summary)
            );
            lines.push(Line::from(Span::styled(
                fit(&text, width),
                ctx.style(Slot::Text),
            )));
        }
    }
    for p in &plan.phases {
        let d = p
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Done)
            .count();
        let promoted = if p.promoted_at.is_some() {
            " · promoted"
        } else {
            ""
        };
        lines.push(Line::from(Span::styled(
            fit(
                &format!("▸ {} ({d}/{}){promoted}", clean(&p.name), p.tasks.len()),
                width,
            ),
            ctx.style(Slot::Title),
        )));
        // Branch todos under their parents.
        for t in p.tasks.iter().filter(|t| !t.is_temporary) {
            lines.push(task_line(ctx, t, width));
            lines.extend(review_lines(ctx, &t.id, width));
            for fix in p
                .tasks
                .iter()
                .filter(|f| f.is_temporary && f.parent_id.as_deref() == Some(t.id.as_str()))
            {
                lines.push(task_line(ctx, fix, width));
            }
        }
    }
    lines
}

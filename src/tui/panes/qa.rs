//! The QA gates: the run in progress gate by gate (with test counts as they come), else the
//! last run — each gate's threshold, measured value and outcome, the decision and its
//! reasons — and the history of decisions across runs.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{inner, Ctx};
use crate::protocol::model::{GateOutcome, GateResult, QaDecision};
use crate::tui::text::{clean, fit};
use crate::tui::theme::Slot;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QaView {
    pub offset: usize,
}

pub fn outcome_slot(o: GateOutcome) -> Slot {
    match o {
        GateOutcome::Pass => Slot::GatePass,
        GateOutcome::Fail => Slot::GateFail,
        GateOutcome::NotMeasured => Slot::GateNotMeasured,
        GateOutcome::Reported => Slot::GateReported,
    }
}

fn decision_slot(d: QaDecision) -> Slot {
    match d {
        QaDecision::AutoMerge => Slot::GatePass,
        QaDecision::RequireHuman => Slot::Warn,
        QaDecision::Fail => Slot::GateFail,
    }
}

fn gate_line<'a>(ctx: &Ctx<'_>, g: &GateResult, width: usize) -> Line<'a> {
    let head = format!("  {:<16}", fit(&g.gate, 16));
    let outcome = format!("{:<13}", g.outcome.as_str());
    let detail = format!(
        "{} {}{}",
        g.measured
            .as_deref()
            .map(clean)
            .unwrap_or_else(|| "—".into()),
        g.threshold
            .as_deref()
            .map(|t| format!("(threshold {})", clean(t)))
            .unwrap_or_default(),
        g.reason
            .as_deref()
            .map(|r| format!(" · {}", clean(r)))
            .unwrap_or_default()
    );
    let used = head.chars().count() + outcome.chars().count();
    Line::from(vec![
        Span::styled(head, ctx.style(Slot::Text)),
        Span::styled(outcome, ctx.style(outcome_slot(g.outcome))),
        Span::styled(
            fit(&detail, width.saturating_sub(used)),
            ctx.style(Slot::Dim),
        ),
    ])
}

pub fn render(ctx: &Ctx<'_>, view: &QaView, area: Rect, buf: &mut Buffer) {
    let body = inner(area);
    let (title_extra, lines) = lines(ctx, body.width as usize);
    let offset = super::clamp_offset(view.offset, lines.len(), body.height);
    Paragraph::new(lines)
        .block(ctx.block("QA gates", Some(title_extra)))
        .scroll((offset, 0))
        .render(area, buf);
}

/// How many lines the QA pane shows (what its offset scrolls through).
pub fn line_count(state: &crate::protocol::State) -> usize {
    lines(&Ctx::counting(state), 0).1.len()
}

/// The pane's title detail and its lines: the run in progress (else the last run), then the
/// history of decisions.
fn lines<'a>(ctx: &Ctx<'_>, width: usize) -> (String, Vec<Line<'a>>) {
    let mut lines: Vec<Line> = Vec::new();
    let title_extra;
    if let Some(live) = &ctx.state.qa_live {
        title_extra = format!("{} running", live.run);
        for gate in &live.gates {
            if let Some(done) = live.finished.iter().find(|g| &g.gate == gate) {
                lines.push(gate_line(ctx, done, width));
            } else if let Some(r) = live.running.as_ref().filter(|r| &r.gate == gate) {
                let progress = match r.total {
                    Some(t) => format!("{}/{t} tests", r.done),
                    None if r.done > 0 => crate::tui::text::plural(r.done as usize, "test"),
                    None => String::new(),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<16}", fit(gate, 16)), ctx.style(Slot::Text)),
                    Span::styled(format!("{:<13}", "running"), ctx.style(Slot::Running)),
                    Span::styled(
                        fit(
                            &format!("run {} {progress}", r.attempt),
                            width.saturating_sub(29),
                        ),
                        ctx.style(Slot::Dim),
                    ),
                ]));
            } else {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<16}", fit(gate, 16)), ctx.style(Slot::Text)),
                    Span::styled("waiting", ctx.style(Slot::Dim)),
                ]));
            }
        }
    } else if let Some(run) = ctx.state.qa_runs.last() {
        title_extra = format!("{} · {}", run.id, run.decision.as_str());
        for g in &run.gates {
            lines.push(gate_line(ctx, g, width));
        }
        lines.push(Line::from(vec![
            Span::styled("  decision ", ctx.style(Slot::Text)),
            Span::styled(
                run.decision.as_str(),
                ctx.style(decision_slot(run.decision)),
            ),
        ]));
        for r in &run.reasons {
            lines.push(Line::from(Span::styled(
                fit(&format!("    {}", clean(r)), width),
                ctx.style(Slot::Dim),
            )));
        }
        if !run.flaky.is_empty() {
            lines.push(Line::from(Span::styled(
                fit(
                    &format!("  quarantined flaky: {}", run.flaky.join(", ")),
                    width,
                ),
                ctx.style(Slot::Warn),
            )));
        }
    } else {
        title_extra = "no run yet".into();
        lines.push(Line::from(Span::styled(
            "the gates run at each Save (or overlord-tui qa)",
            ctx.style(Slot::Dim),
        )));
    }
    if ctx.state.qa_runs.len() > 1 || (ctx.state.qa_live.is_some() && !ctx.state.qa_runs.is_empty())
    {
        lines.push(Line::from(Span::styled("History", ctx.style(Slot::Title))));
        for run in ctx.state.qa_runs.iter().rev().take(10) {
            let m = &run.metrics;
            let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1}%"));
            let cp = ctx
                .state
                .checkpoints
                .iter()
                .find(|c| c.qa_run == Some(run.id))
                .map(|c| c.name.trim_start_matches("checkpoint/").to_string())
                .unwrap_or_default();
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<6}", run.id.to_string()),
                    ctx.style(Slot::Text),
                ),
                Span::styled(
                    format!("{:<14}", run.decision.as_str()),
                    ctx.style(decision_slot(run.decision)),
                ),
                Span::styled(
                    fit(
                        &format!(
                            "coverage {} · pass {} · {cp}",
                            pct(m.coverage),
                            pct(m.pass_rate)
                        ),
                        width.saturating_sub(20),
                    ),
                    ctx.style(Slot::Dim),
                ),
            ]));
        }
    }
    (title_extra, lines)
}

//! The whole screen: the panes laid out for the terminal's size, the command bar, the footer
//! of key hints and the overlays (help, a confirmation). Pure: (state, view state, theme,
//! clock, area) → buffer.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::panes::{self, activity, Ctx};
use super::text::{clean, fit};
use super::theme::{Slot, Theme};
use crate::protocol::State;

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Pane {
    #[default]
    Swarm,
    Concerns,
    Plan,
    Qa,
    Timeline,
    Activity,
}

impl Pane {
    pub const ALL: [Pane; 6] = [
        Pane::Swarm,
        Pane::Concerns,
        Pane::Plan,
        Pane::Qa,
        Pane::Timeline,
        Pane::Activity,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Swarm => "Swarm",
            Pane::Concerns => "Concerns",
            Pane::Plan => "Plan",
            Pane::Qa => "QA",
            Pane::Timeline => "Timeline",
            Pane::Activity => "Activity",
        }
    }

    pub fn next(self) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ALL[(i + 1) % Pane::ALL.len()]
    }

    pub fn previous(self) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ALL[(i + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }
}

/// A question the human must answer before something happens (Save, rollback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    /// What will happen, one line each.
    pub lines: Vec<String>,
}

/// Everything the console shows besides the core's state.
#[derive(Debug, Clone, Default)]
pub struct Screen {
    pub focus: Pane,
    /// Only the focused pane, full size (small terminals always are).
    pub zoom: bool,
    pub swarm: panes::swarm::SwarmView,
    pub concerns: panes::concerns::ConcernsView,
    pub plan: panes::plan::PlanView,
    pub qa: panes::qa::QaView,
    pub timeline: panes::timeline::TimelineView,
    pub activity: activity::ActivityView,
    /// The command bar's text while it has the focus (`None`: not editing).
    pub command: Option<String>,
    /// The core's answer to the last command: ok and the message.
    pub reply: Option<(bool, String)>,
    pub help: bool,
    pub confirm: Option<Confirm>,
    /// Warnings about the user's files (theme, keymap), shown until dismissed.
    pub warnings: Vec<String>,
}

/// Below this the console only says it needs more room.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// What the screen draws from besides its own view state.
pub struct Frame<'a> {
    pub state: &'a State,
    pub theme: &'a Theme,
    pub now: time::OffsetDateTime,
    pub log: &'a activity::Log,
    /// The raw output of the agent selected in the swarm.
    pub raw: &'a [String],
    /// Footer hints for the focused layer: (keys, what they do).
    pub hints: &'a [(String, String)],
    /// Help overlay: (section, [(keys, what)]).
    pub help: &'a [(String, Vec<(String, String)>)],
    pub stall_secs: u64,
}

fn ctx<'a>(f: &Frame<'a>, focused: bool) -> Ctx<'a> {
    Ctx {
        state: f.state,
        theme: f.theme,
        now: f.now,
        focused,
        stall_secs: f.stall_secs,
    }
}

fn draw_pane(screen: &Screen, f: &Frame<'_>, pane: Pane, area: Rect, buf: &mut Buffer) {
    let c = ctx(f, screen.focus == pane);
    match pane {
        Pane::Swarm => panes::swarm::render(&c, &screen.swarm, area, buf),
        Pane::Concerns => panes::concerns::render(&c, &screen.concerns, area, buf),
        Pane::Plan => panes::plan::render(&c, &screen.plan, area, buf),
        Pane::Qa => panes::qa::render(&c, &screen.qa, area, buf),
        Pane::Timeline => panes::timeline::render(&c, &screen.timeline, area, buf),
        Pane::Activity => panes::activity::render(&c, &screen.activity, f.log, f.raw, area, buf),
    }
}

/// The one-line summary at the top: plan, tasks, agents, concerns, approvals, the operation
/// in progress, the last checkpoint. Counted in one pass each (no report is built per frame).
fn status_line<'a>(f: &Frame<'_>, width: usize) -> Line<'a> {
    let s = f.state;
    let (done, total) = s.plan.as_ref().map_or((0, 0), |p| {
        p.tasks().fold((0, 0), |(d, t), task| {
            (
                d + usize::from(task.status == crate::protocol::model::TaskStatus::Done),
                t + 1,
            )
        })
    });
    let (mut open, mut critical) = (0, 0);
    for c in s.open_concerns() {
        open += 1;
        if c.severity == crate::protocol::model::Severity::Critical {
            critical += 1;
        }
    }
    let pending = s.pending_approvals().count();
    let mut spans = vec![Span::styled(
        fit(
            &format!(
                " {} · {done}/{total} tasks · {} agents active · ",
                s.plan
                    .as_ref()
                    .map(|p| clean(&p.title))
                    .unwrap_or_else(|| "no plan".into()),
                s.active_agents().count()
            ),
            width,
        ),
        f.theme.style(Slot::StatusBar),
    )];
    spans.push(Span::styled(
        format!("{open} concerns"),
        f.theme.style(if critical > 0 {
            Slot::Critical
        } else {
            Slot::StatusBar
        }),
    ));
    if pending > 0 {
        spans.push(Span::styled(" · ", f.theme.style(Slot::StatusBar)));
        spans.push(Span::styled(
            format!("{pending} awaiting you"),
            f.theme.style(Slot::Badge),
        ));
    }
    if s.dispatch_halted {
        spans.push(Span::styled(" · ", f.theme.style(Slot::StatusBar)));
        spans.push(Span::styled("PAUSED", f.theme.style(Slot::Paused)));
    }
    if let Some(op) = &s.operation {
        let step = op
            .steps
            .last()
            .map(|l| format!(": {}", clean(l)))
            .unwrap_or_default();
        spans.push(Span::styled(
            format!(" · {} {}{step}", op.kind, op.id),
            f.theme.style(Slot::Running),
        ));
    }
    spans.push(Span::styled(
        format!(
            " · {}",
            s.checkpoints
                .last()
                .map(|c| c.name.trim_start_matches("checkpoint/").to_string())
                .unwrap_or_else(|| "no checkpoint".into())
        ),
        f.theme.style(Slot::StatusBar),
    ));
    Line::from(spans)
}

fn command_line<'a>(screen: &Screen, f: &Frame<'_>, width: usize) -> Line<'a> {
    match (&screen.command, &screen.reply) {
        (Some(text), _) => Line::from(vec![
            Span::styled("> ", f.theme.style(Slot::Key)),
            Span::styled(
                fit(&clean(text), width.saturating_sub(3)),
                f.theme.style(Slot::Text),
            ),
            Span::styled("▏", f.theme.style(Slot::Key)),
        ]),
        (None, Some((ok, message))) => Line::from(Span::styled(
            fit(&clean(message), width),
            f.theme.style(if *ok { Slot::Ok } else { Slot::Error }),
        )),
        (None, None) => Line::from(Span::styled(
            fit(
                "/ for a command (the same grammar as the CLI and Discord)",
                width,
            ),
            f.theme.style(Slot::Dim),
        )),
    }
}

fn footer<'a>(f: &Frame<'_>, width: usize) -> Line<'a> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (keys, what) in f.hints {
        let piece = keys.chars().count() + what.chars().count() + 3;
        if used + piece > width {
            break;
        }
        used += piece;
        spans.push(Span::styled(keys.clone(), f.theme.style(Slot::Key)));
        spans.push(Span::styled(
            format!(" {what}  "),
            f.theme.style(Slot::Hint),
        ));
    }
    Line::from(spans)
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub fn render(screen: &Screen, f: &Frame<'_>, area: Rect, buf: &mut Buffer) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        Paragraph::new(format!(
            "overlord-tui needs at least {MIN_WIDTH}×{MIN_HEIGHT} (this is {}×{})",
            area.width, area.height
        ))
        .style(f.theme.style(Slot::Warn))
        .wrap(Wrap { trim: true })
        .render(area, buf);
        return;
    }
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .split(area);
    let width = area.width as usize;
    status_line(f, width).render(rows[0], buf);
    let body = rows[1];
    let roomy = area.width >= 120 && area.height >= 36;
    if screen.zoom || !roomy {
        // Tabs, then the focused pane.
        let parts = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Length(1), Constraint::Min(1)])
            .split(body);
        let mut tabs = Vec::new();
        for p in Pane::ALL {
            let slot = if p == screen.focus {
                Slot::Badge
            } else {
                Slot::Hint
            };
            tabs.push(Span::styled(
                format!(" {} ", p.title()),
                f.theme.style(slot),
            ));
        }
        Line::from(tabs).render(parts[0], buf);
        draw_pane(screen, f, screen.focus, parts[1], buf);
    } else {
        let bands = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Percentage(34),
                Constraint::Percentage(33),
                Constraint::Percentage(33),
            ])
            .split(body);
        let top = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(58), Constraint::Percentage(42)])
            .split(bands[0]);
        let middle = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([
                Constraint::Percentage(40),
                Constraint::Percentage(30),
                Constraint::Percentage(30),
            ])
            .split(bands[1]);
        draw_pane(screen, f, Pane::Swarm, top[0], buf);
        draw_pane(screen, f, Pane::Concerns, top[1], buf);
        draw_pane(screen, f, Pane::Plan, middle[0], buf);
        draw_pane(screen, f, Pane::Qa, middle[1], buf);
        draw_pane(screen, f, Pane::Timeline, middle[2], buf);
        draw_pane(screen, f, Pane::Activity, bands[2], buf);
    }
    command_line(screen, f, width).render(rows[2], buf);
    footer(f, width).render(rows[3], buf);

    if !screen.warnings.is_empty() {
        let h = (screen.warnings.len() as u16 + 2).min(body.height);
        let r = Rect {
            x: body.x,
            y: body.y + body.height - h,
            width: body.width,
            height: h,
        };
        Clear.render(r, buf);
        let lines: Vec<Line> = screen
            .warnings
            .iter()
            .map(|w| Line::from(Span::styled(clean(w), f.theme.style(Slot::Warn))))
            .collect();
        Paragraph::new(lines)
            .block(ctx(f, false).block("Warnings", None))
            .render(r, buf);
    }
    if screen.help {
        let r = centered(body, body.width.saturating_sub(4).min(90), body.height);
        Clear.render(r, buf);
        let mut lines = Vec::new();
        for (section, keys) in f.help {
            lines.push(Line::from(Span::styled(
                section.clone(),
                f.theme.style(Slot::Title),
            )));
            for (k, what) in keys {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {k:<14}"), f.theme.style(Slot::Key)),
                    Span::styled(what.clone(), f.theme.style(Slot::Text)),
                ]));
            }
        }
        Paragraph::new(lines)
            .block(ctx(f, true).block("Help", Some("esc to close".into())))
            .render(r, buf);
    }
    if let Some(c) = &screen.confirm {
        let h = (c.lines.len() as u16 + 4).min(body.height);
        let r = centered(body, body.width.saturating_sub(8).min(80), h);
        Clear.render(r, buf);
        let mut lines: Vec<Line> = c
            .lines
            .iter()
            .map(|l| Line::from(Span::styled(clean(l), f.theme.style(Slot::Text))))
            .collect();
        lines.push(Line::from(vec![
            Span::styled("enter", f.theme.style(Slot::Key)),
            Span::styled(" confirm   ", f.theme.style(Slot::Hint)),
            Span::styled("esc", f.theme.style(Slot::Key)),
            Span::styled(" cancel", f.theme.style(Slot::Hint)),
        ]));
        Paragraph::new(lines)
            .block(ctx(f, true).block(&c.title, None))
            .render(r, buf);
    }
}

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
    /// Shown full size when it has the focus (a diff needs the room).
    Diff,
    /// Shown full size when it has the focus (charts need the room).
    Metrics,
}

impl Pane {
    pub const ALL: [Pane; 8] = [
        Pane::Swarm,
        Pane::Concerns,
        Pane::Plan,
        Pane::Qa,
        Pane::Timeline,
        Pane::Activity,
        Pane::Diff,
        Pane::Metrics,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Swarm => "Swarm",
            Pane::Concerns => "Concerns",
            Pane::Plan => "Plan",
            Pane::Qa => "QA",
            Pane::Timeline => "Timeline",
            Pane::Activity => "Activity",
            Pane::Diff => "Diff",
            Pane::Metrics => "Metrics",
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
    pub diff: panes::diff::DiffPane,
    pub metrics: panes::metrics::MetricsView,
    /// The selected concern's details over the screen.
    pub details: bool,
    /// A long answer (`/status`, `/help`…) over the screen, scrollable, until `esc`.
    pub answer: Option<super::command_view::Answer>,
    /// The command bar's completion menu (after `tab`, while it offers more than one).
    pub completion: Option<super::command_view::CompletionMenu>,
    /// The Save or rollback in progress (and then its outcome), step by step.
    pub progress: bool,
    /// The last finished operation's name and steps (for the progress view).
    pub finished: Option<(String, Vec<String>)>,
    /// The command bar's text while it has the focus (`None`: not editing).
    pub command: Option<String>,
    /// Where the cursor is in it (in characters).
    pub command_cursor: usize,
    /// The core's answer to the last command: ok and the message.
    pub reply: Option<(bool, String)>,
    pub help: bool,
    /// The help's scroll and filter.
    pub help_view: super::help::HelpView,
    pub confirm: Option<Confirm>,
    /// Warnings about the user's files (theme, keymap), shown until dismissed.
    pub warnings: Vec<String>,
    /// The terminal's area at the last frame or resize (what scrolling is bounded by).
    pub size: Rect,
    /// A line of its own above the command bar, from the program running the console (the
    /// demo's stage: "stage 4/8: a concern climbs to you").
    pub narration: Option<String>,
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
    pub help: &'a [super::help::Section],
    pub stall_secs: u64,
    /// The keys that decide what awaits the human, from the keymap: the one that shows the
    /// Plan pane and the one that approves there (`None`: not bound).
    pub decide: (Option<String>, Option<String>),
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
        Pane::Diff => panes::diff::render(&c, &screen.diff, area, buf),
        Pane::Metrics => panes::metrics::render(&c, &screen.metrics, area, buf),
    }
}

/// The metrics' alerts in force, coloured by the worst (nothing when there are none).
fn alerts_spans<'a>(f: &Frame<'_>) -> Vec<Span<'a>> {
    let s = f.state;
    let Some(worst) = s.alerts.values().map(|a| a.level).max() else {
        return Vec::new();
    };
    vec![
        Span::styled(" · ", f.theme.style(Slot::StatusBar)),
        Span::styled(
            format!(
                "{} alert{}",
                s.alerts.len(),
                if s.alerts.len() == 1 { "" } else { "s" }
            ),
            f.theme.style(match worst {
                crate::protocol::model::AlertLevel::Critical => Slot::Critical,
                crate::protocol::model::AlertLevel::Alert => Slot::Error,
                crate::protocol::model::AlertLevel::Warn => Slot::Warn,
            }),
        ),
    ]
}

/// The one-line summary at the top (the health line): plan, tasks, agents, concerns, QA,
/// spend today, alerts, approvals, the operation in progress, the last checkpoint. Counted in one pass each (no report is built per frame).
fn status_line<'a>(screen: &Screen, f: &Frame<'_>, width: usize) -> Line<'a> {
    let s = f.state;
    let (done, total) = s.plan.as_ref().map_or((0, 0), |p| {
        p.tasks().fold((0, 0), |(d, t), task| {
            (
                d + usize::from(task.status == crate::protocol::model::TaskStatus::Done),
                t + 1,
            )
        })
    });
    let (mut open, mut critical, mut discord_down) = (0, 0, false);
    for c in s.open_concerns() {
        open += 1;
        // The Discord bridge inside the owner could not connect (a refused token, …).
        discord_down |= c.category == "discord_bridge";
        if c.severity == crate::protocol::model::Severity::Critical {
            critical += 1;
        }
    }
    let pending = s.pending_approvals().count();
    let title = s
        .plan
        .as_ref()
        .map(|p| clean(&p.title))
        .unwrap_or_else(|| "no plan".into());
    // The title is fitted last, into the room the counts leave.
    let mut spans = vec![
        Span::raw(""),
        Span::styled(
            format!(
                " · {done}/{total} tasks · {} working · ",
                s.active_agents().count()
            ),
            f.theme.style(Slot::StatusBar),
        ),
    ];
    spans.push(Span::styled(
        {
            let noun = if open == 1 { "concern" } else { "concerns" };
            if critical > 0 {
                format!("{open} {noun} ({critical} critical)")
            } else {
                format!("{open} {noun}")
            }
        },
        f.theme.style(if critical > 0 {
            Slot::Critical
        } else {
            Slot::StatusBar
        }),
    ));
    let mut awaiting = None;
    if pending > 0 {
        spans.push(Span::styled(" · ", f.theme.style(Slot::StatusBar)));
        awaiting = Some(spans.len());
        spans.push(Span::styled(
            format!("{pending} awaiting you"),
            f.theme.style(Slot::Badge),
        ));
    }
    if s.dispatch_halted {
        spans.push(Span::styled(" · ", f.theme.style(Slot::StatusBar)));
        spans.push(Span::styled("PAUSED", f.theme.style(Slot::Paused)));
    }
    if discord_down {
        spans.push(Span::styled(" · ", f.theme.style(Slot::StatusBar)));
        spans.push(Span::styled("Discord down", f.theme.style(Slot::Critical)));
    }
    spans.extend(alerts_spans(f));
    // What must show: the counts up to here; the title gets what they leave (at least 12).
    let mut needed: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    // Which keys decide what awaits the human, when the title keeps its 12 columns.
    if let (Some(i), Some(keys)) = (awaiting, decide_keys(screen, f)) {
        let hint = format!(": {keys}");
        if needed + hint.chars().count() + 12 <= width {
            needed += hint.chars().count();
            spans[i] = Span::styled(
                format!("{}{hint}", spans[i].content),
                f.theme.style(Slot::Badge),
            );
        }
    }
    spans[0] = Span::styled(
        fit(&format!(" {title}"), width.saturating_sub(needed).max(12)),
        f.theme.style(Slot::StatusBar),
    );
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
    // QA and spend today, when there is room.
    if let Some(run) = s.qa_runs.last() {
        spans.push(Span::styled(" · QA ", f.theme.style(Slot::StatusBar)));
        spans.push(Span::styled(
            run.decision.as_str().to_string(),
            f.theme.style(match run.decision {
                crate::protocol::model::QaDecision::Fail => Slot::Error,
                crate::protocol::model::QaDecision::RequireHuman => Slot::Warn,
                crate::protocol::model::QaDecision::AutoMerge => Slot::StatusBar,
            }),
        ));
    }
    let today = f.now.to_offset(time::UtcOffset::UTC).date().to_string();
    if let Some(spent) = s.spend_by_day.get(&today).filter(|d| d.cost_micros > 0) {
        spans.push(Span::styled(
            format!(
                " · {} today",
                crate::protocol::report::usd(spent.cost_micros)
            ),
            f.theme.style(Slot::StatusBar),
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
    // Whole items only: an item that does not fit is left out with its separator.
    let mut used = 0;
    let mut kept = Vec::with_capacity(spans.len());
    for span in spans {
        let w = span.content.chars().count();
        if used + w > width {
            break;
        }
        used += w;
        kept.push(span);
    }
    if kept.last().is_some_and(|s| s.content.trim() == "·") {
        kept.pop();
    }
    Line::from(kept)
}

/// The keys that decide a pending approval: "a approves" in the Plan pane, else "3 then a".
/// `None` when approving has no key.
fn decide_keys(screen: &Screen, f: &Frame<'_>) -> Option<String> {
    let approve = f.decide.1.as_deref()?;
    if screen.focus == Pane::Plan {
        return Some(format!("{approve} approves"));
    }
    let plan = f.decide.0.as_deref()?;
    Some(format!("{plan} then {approve}"))
}

fn command_line<'a>(screen: &Screen, f: &Frame<'_>, width: usize) -> Line<'a> {
    match (&screen.command, &screen.reply) {
        (Some(text), _) => {
            // The text around the cursor; a long line keeps the cursor in view.
            let room = width.saturating_sub(3).max(1);
            let chars: Vec<char> = text.chars().collect();
            let cursor = screen.command_cursor.min(chars.len());
            let start = (cursor + 1).saturating_sub(room);
            let before: String = chars[start..cursor].iter().collect();
            let at: String = chars
                .get(cursor)
                .map(|c| c.to_string())
                .unwrap_or(" ".into());
            let after: String = chars.iter().skip(cursor + 1).collect();
            let after = fit(
                &clean(&after),
                room.saturating_sub(before.chars().count() + 1),
            );
            Line::from(vec![
                Span::styled("> ", f.theme.style(Slot::Key)),
                Span::styled(clean(&before), f.theme.style(Slot::Text)),
                Span::styled(clean(&at), f.theme.style(Slot::Selection)),
                Span::styled(after, f.theme.style(Slot::Text)),
            ])
        }
        (None, Some((ok, message))) => Line::from(Span::styled(
            fit(&clean(message), width),
            f.theme.style(if *ok { Slot::Ok } else { Slot::Error }),
        )),
        // In the diff `/` searches; elsewhere it opens the command bar as `:` does.
        (None, None) => Line::from(Span::styled(
            fit(
                if screen.focus == Pane::Diff {
                    ": for a command · / searches the diff · f filters its files"
                } else {
                    "/ for a command (the same grammar as the CLI and Discord)"
                },
                width,
            ),
            f.theme.style(Slot::Dim),
        )),
    }
}

/// Where the character `at` of the command bar's text is on screen (the text scrolls to keep
/// the cursor in view, as [`command_line`] draws it).
fn command_column(text: &str, cursor: usize, at: usize, width: usize) -> u16 {
    let room = width.saturating_sub(3).max(1);
    let start = (cursor.min(text.chars().count()) + 1).saturating_sub(room);
    (2 + at.saturating_sub(start)).min(width) as u16
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

/// Where everything goes on a screen of `area` (also what a mouse click hits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Areas {
    pub status: Rect,
    pub body: Rect,
    /// The tab row (one pane at a time), each tab with where it is.
    pub tabs: Option<Vec<(Pane, Rect)>>,
    pub panes: Vec<(Pane, Rect)>,
    pub command: Rect,
    pub footer: Rect,
    /// The narration's row (no height without one).
    pub narration: Rect,
}

impl Areas {
    /// The pane or tab at a cell.
    pub fn pane_at(&self, x: u16, y: u16) -> Option<Pane> {
        let hit = |r: &Rect| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
        self.tabs
            .iter()
            .flatten()
            .chain(self.panes.iter())
            .find(|(_, r)| hit(r))
            .map(|(p, _)| *p)
    }
}

/// The layout of the screen, or `None` below the minimum size.
pub fn areas(screen: &Screen, area: Rect) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(u16::from(screen.narration.is_some())),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .split(area);
    let body = rows[1];
    let roomy = area.width >= 120 && area.height >= 36;
    let full_size = matches!(screen.focus, Pane::Diff | Pane::Metrics);
    let (tabs, panes) = if screen.zoom || !roomy || full_size {
        let tab_row = Rect { height: 1, ..body };
        let mut x = tab_row.x;
        let mut tabs = Vec::new();
        for p in Pane::ALL {
            let w = (p.title().chars().count() as u16 + 2).min(tab_row.right().saturating_sub(x));
            tabs.push((p, Rect::new(x, tab_row.y, w, 1)));
            x += w;
        }
        let rest = Rect {
            y: body.y + 1,
            height: body.height.saturating_sub(1),
            ..body
        };
        (Some(tabs), vec![(screen.focus, rest)])
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
        (
            None,
            vec![
                (Pane::Swarm, top[0]),
                (Pane::Concerns, top[1]),
                (Pane::Plan, middle[0]),
                (Pane::Qa, middle[1]),
                (Pane::Timeline, middle[2]),
                (Pane::Activity, bands[2]),
            ],
        )
    };
    Some(Areas {
        status: rows[0],
        body,
        tabs,
        panes,
        narration: rows[2],
        command: rows[3],
        footer: rows[4],
    })
}

/// Where the diff viewer itself is drawn (inside the diff pane's frame), when it is shown.
pub fn diff_area(screen: &Screen, area: Rect) -> Option<Rect> {
    areas(screen, area)?
        .panes
        .into_iter()
        .find(|(p, _)| *p == Pane::Diff)
        .map(|(_, r)| panes::inner(r))
}

fn overlay(
    f: &Frame<'_>,
    body: Rect,
    title: &str,
    note: Option<String>,
    lines: Vec<Line<'static>>,
    buf: &mut Buffer,
) {
    let w = body.width.saturating_sub(6).min(96);
    // Rows once wrapped (at most: word wrapping may take one more row now and then).
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let h = (rows as u16).saturating_add(2).min(body.height);
    let r = centered(body, w, h);
    Clear.render(r, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(ctx(f, true).block(title, note))
        .render(r, buf);
}

fn field(f: &Frame<'_>, name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<13}"), f.theme.style(Slot::Hint)),
        Span::styled(clean(&value), f.theme.style(Slot::Text)),
    ])
}

/// Everything about the selected concern.
fn details(screen: &Screen, f: &Frame<'_>, body: Rect, buf: &mut Buffer) {
    let Some(c) = screen.concerns.concern(f.state) else {
        return;
    };
    let mut lines = vec![Line::from(Span::styled(
        clean(&c.summary),
        f.theme.style(panes::concerns::severity_slot(c.severity)),
    ))];
    lines.push(field(
        f,
        "severity",
        format!("{} · {}", c.severity, c.category),
    ));
    lines.push(field(f, "from → to", format!("{} → {}", c.from, c.to)));
    lines.push(field(f, "status", c.status.to_string()));
    lines.push(field(f, "raised", super::text::when(&c.timestamp)));
    if let Some(a) = &c.raised_by {
        lines.push(field(f, "raised by", a.clone()));
    }
    if let Some(t) = &c.task {
        lines.push(field(f, "task", t.clone()));
    }
    if !c.escalations.is_empty() {
        let path: Vec<String> = c.escalations.iter().map(|r| r.to_string()).collect();
        lines.push(field(f, "escalated to", path.join(" → ")));
    }
    if let Some(by) = &c.acknowledged_by {
        let at = c
            .acknowledged_at
            .as_deref()
            .map(super::text::when)
            .unwrap_or_default();
        lines.push(field(f, "acknowledged", format!("{by} {at}")));
    }
    if let Some(a) = &c.assigned_to {
        lines.push(field(f, "assigned to", a.clone()));
    }
    if let Some(r) = &c.response {
        lines.push(field(f, "response", r.clone()));
    }
    if let Some(by) = &c.resolved_by {
        let at = c
            .resolved_at
            .as_deref()
            .map(super::text::when)
            .unwrap_or_default();
        lines.push(field(f, "resolved", format!("{by} {at}")));
    }
    if let Some(r) = &c.resolution {
        lines.push(field(f, "resolution", r.clone()));
    }
    if let Some(d) = &c.details {
        lines.push(Line::from(""));
        for l in d.lines().take(body.height as usize) {
            lines.push(Line::from(Span::styled(
                clean(l),
                f.theme.style(Slot::Text),
            )));
        }
    }
    overlay(
        f,
        body,
        &format!("Concern {}", c.id),
        Some("a ack · r resolve · A assign · esc close".into()),
        lines,
        buf,
    );
}

/// The Save or rollback in progress, step by step, with the QA gates while they run; then
/// how it ended.
fn progress(screen: &Screen, f: &Frame<'_>, body: Rect, buf: &mut Buffer) {
    let mut lines = Vec::new();
    let title;
    match &f.state.operation {
        Some(op) => {
            title = format!("{} {} in progress", op.kind, op.id);
            let n = op.steps.len();
            for (i, step) in op.steps.iter().enumerate() {
                let (mark, slot) = if i + 1 == n {
                    ("▸ ", Slot::Running)
                } else {
                    ("✓ ", Slot::Ok)
                };
                lines.push(Line::from(vec![
                    Span::styled(mark, f.theme.style(slot)),
                    Span::styled(clean(step), f.theme.style(Slot::Text)),
                ]));
            }
            if n == 0 {
                lines.push(Line::from(Span::styled(
                    "starting…",
                    f.theme.style(Slot::Dim),
                )));
            }
            if let Some(live) = &f.state.qa_live {
                for g in &live.gates {
                    let (text, slot) = if let Some(r) = live.finished.iter().find(|r| &r.gate == g)
                    {
                        (
                            format!("  {g}: {}", r.outcome.as_str()),
                            panes::qa::outcome_slot(r.outcome),
                        )
                    } else if let Some(run) = live.running.as_ref().filter(|r| &r.gate == g) {
                        let of = run.total.map(|t| format!("/{t}")).unwrap_or_default();
                        (format!("  {g}: running {}{of}", run.done), Slot::Running)
                    } else {
                        (format!("  {g}: waiting"), Slot::Dim)
                    };
                    lines.push(Line::from(Span::styled(text, f.theme.style(slot))));
                }
            }
        }
        None => {
            let (name, steps) = screen.finished.clone().unwrap_or_default();
            title = if name.is_empty() {
                "Finished".to_string()
            } else {
                format!("{name} finished")
            };
            for step in steps {
                lines.push(Line::from(vec![
                    Span::styled("✓ ", f.theme.style(Slot::Ok)),
                    Span::styled(clean(&step), f.theme.style(Slot::Text)),
                ]));
            }
            let (ok, message) = screen
                .reply
                .clone()
                .unwrap_or((true, "nothing is running".into()));
            lines.push(Line::from(Span::styled(
                clean(&message),
                f.theme.style(if ok { Slot::Ok } else { Slot::Error }),
            )));
        }
    }
    overlay(f, body, &title, Some("esc to close".into()), lines, buf);
}

pub fn render(screen: &Screen, f: &Frame<'_>, area: Rect, buf: &mut Buffer) {
    let Some(a) = areas(screen, area) else {
        Paragraph::new(format!(
            "overlord-tui needs at least {MIN_WIDTH}×{MIN_HEIGHT} (this is {}×{})",
            area.width, area.height
        ))
        .style(f.theme.style(Slot::Warn))
        .wrap(Wrap { trim: true })
        .render(area, buf);
        return;
    };
    let width = area.width as usize;
    status_line(screen, f, width).render(a.status, buf);
    let body = a.body;
    if let Some(tabs) = &a.tabs {
        for (p, r) in tabs {
            let slot = if *p == screen.focus {
                Slot::Badge
            } else {
                Slot::Hint
            };
            Span::styled(format!(" {} ", p.title()), f.theme.style(slot)).render(*r, buf);
        }
    }
    for (p, r) in &a.panes {
        draw_pane(screen, f, *p, *r, buf);
    }
    if let Some(text) = &screen.narration {
        Line::from(Span::styled(
            fit(&format!("▶ {}", clean(text)), width),
            f.theme.style(Slot::Title),
        ))
        .render(a.narration, buf);
    }
    command_line(screen, f, width).render(a.command, buf);
    super::hints::line(f.hints, f.theme, width).render(a.footer, buf);
    if let (Some(menu), Some(text)) = (&screen.completion, &screen.command) {
        let column = command_column(text, screen.command_cursor, menu.start, width);
        super::command_view::render_menu(menu, f.theme, a.command, column, buf);
    }

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
    if screen.details {
        details(screen, f, body, buf);
    }
    if let Some(answer) = &screen.answer {
        super::command_view::render_answer(answer, f.theme, body, buf);
    }
    if screen.progress {
        progress(screen, f, body, buf);
    }
    if screen.help {
        super::help::render(&screen.help_view, f.help, f.theme, body, buf);
    }
    if let Some(c) = &screen.confirm {
        confirm(c, f, body, buf);
    }
    // A theme with its own background shows it under everything, cleared cells included.
    f.theme.paint_defaults(area, buf);
}

/// A confirmation: its text wrapped to the box, then its keys (those of the confirm layer,
/// which the footer shows too), inside the box.
fn confirm(c: &Confirm, f: &Frame<'_>, body: Rect, buf: &mut Buffer) {
    let w = body.width.saturating_sub(8).min(80);
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .flat_map(|l| super::text::wrap(&clean(l), inner))
        .map(|l| Line::from(Span::styled(l, f.theme.style(Slot::Text))))
        .collect();
    lines.push(Line::from(""));
    let mut keys = Vec::new();
    for (i, (k, what)) in f.hints.iter().enumerate() {
        if i > 0 {
            keys.push(Span::styled(" · ", f.theme.style(Slot::Hint)));
        }
        keys.push(Span::styled(k.clone(), f.theme.style(Slot::Key)));
        keys.push(Span::styled(format!(" {what}"), f.theme.style(Slot::Hint)));
    }
    lines.push(Line::from(keys));
    let h = (lines.len() as u16 + 2).min(body.height);
    let r = centered(body, w, h);
    Clear.render(r, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(ctx(f, true).block(&c.title, None))
        .render(r, buf);
}

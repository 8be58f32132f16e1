//! The metrics: the alerts in force (from the state, most severe first), then charts where a
//! person would rather look than read — sparklines of coverage, QA pass rate and cost per
//! checkpoint, bars of running time and cost per role — and concern latency by severity. The
//! figures come computed (off the UI loop) in the view state; a chart with nothing to draw
//! says "no data".

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{inner, Ctx};
use crate::metrics::{CheckpointPoint, Durations, Window};
use crate::protocol::model::{AlertLevel, Role, Severity};
use crate::protocol::report::usd;
use crate::tui::metrics_source::Figures;
use crate::tui::text::{ago, clean, fit};
use crate::tui::theme::Slot;

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsView {
    /// The window asked for (the figures shown may still be of the previous one).
    pub window: Window,
    /// Of the latest request.
    pub generation: u64,
    /// Of the first request for the current window: an answer older than it is for another
    /// window, and dropped.
    pub window_generation: u64,
    /// Of the figures shown: an answer older than them is dropped. (A newer one is shown even
    /// while a still newer request is pending, so a steady stream of events cannot keep the
    /// pane from ever updating.)
    pub shown_generation: u64,
    pub loading: bool,
    /// The latest figures computed.
    pub figures: Option<Figures>,
    pub error: Option<String>,
}

impl Default for MetricsView {
    fn default() -> MetricsView {
        MetricsView {
            window: Window::All,
            generation: 0,
            window_generation: 0,
            shown_generation: 0,
            loading: false,
            figures: None,
            error: None,
        }
    }
}

/// The next window in the order the key cycles through (24h → 7d → checkpoint → all → 24h).
pub fn next_window(w: Window) -> Window {
    let i = Window::ALL.iter().position(|x| *x == w).unwrap_or(0);
    Window::ALL[(i + 1) % Window::ALL.len()]
}

pub fn level_slot(level: AlertLevel) -> Slot {
    match level {
        AlertLevel::Critical => Slot::Critical,
        AlertLevel::Alert => Slot::Error,
        AlertLevel::Warn => Slot::Warn,
    }
}

fn secs(s: f64) -> String {
    ago(s.round() as i64)
}

/// Where the text goes, line by line; lines past the bottom are dropped.
struct Pen<'b> {
    area: Rect,
    y: u16,
    buf: &'b mut Buffer,
}

impl Pen<'_> {
    fn room(&self) -> u16 {
        self.area.bottom().saturating_sub(self.y)
    }

    fn line(&mut self, line: Line<'_>) {
        if self.room() == 0 {
            return;
        }
        let r = Rect::new(self.area.x, self.y, self.area.width, 1);
        line.render(r, self.buf);
        self.y += 1;
    }

    fn skip(&mut self, n: u16) {
        self.y = self.y.saturating_add(n).min(self.area.bottom());
    }
}

fn dim<'a>(ctx: &Ctx<'_>, s: impl Into<String>) -> Span<'a> {
    Span::styled(s.into(), ctx.style(Slot::Dim))
}

fn heading<'a>(ctx: &Ctx<'_>, title: &str, note: &str, width: usize) -> Line<'a> {
    let title = fit(title, width);
    let rest = width.saturating_sub(title.chars().count());
    Line::from(vec![
        Span::styled(title, ctx.style(Slot::Title)),
        dim(ctx, fit(note, rest)),
    ])
}

const EIGHTHS: [&str; 9] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
const LEFT_EIGHTHS: [&str; 9] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"];

/// A sparkline over `area`: a bar per value (the newest that fit; up to three columns wide
/// with a gap when there is room), scaled from zero to `max`; a value with no data is a dim `·`
/// on the baseline, a value above zero shows at least one eighth.
fn sparkline(
    values: &[Option<f64>],
    max: f64,
    style: Style,
    absent: Style,
    area: Rect,
    buf: &mut Buffer,
) {
    if area.is_empty() {
        return;
    }
    let (slot, bar) = spark_columns(values.len(), area.width);
    let shown = &values[values.len().saturating_sub((area.width / slot) as usize)..];
    let levels = area.height as f64 * 8.0;
    let bottom = area.bottom() - 1;
    for (i, v) in shown.iter().enumerate() {
        let x0 = area.x + i as u16 * slot;
        let Some(v) = v else {
            for x in x0..x0 + bar {
                buf[(x, bottom)].set_symbol("·").set_style(absent);
            }
            continue;
        };
        let mut eighths = if max > 0.0 {
            (v.max(0.0) / max * levels).round() as u64
        } else {
            0
        };
        if *v > 0.0 {
            eighths = eighths.max(1);
        }
        for row in 0..area.height {
            let here = eighths.min(8);
            eighths -= here;
            for x in x0..x0 + bar {
                buf[(x, bottom - row)]
                    .set_symbol(EIGHTHS[here as usize])
                    .set_style(style);
            }
        }
    }
}

/// The columns each of `n` values takes in `width`, and how many of them its bar fills.
fn spark_columns(n: usize, width: u16) -> (u16, u16) {
    let slot = (width as usize / n.max(1)).clamp(1, 4) as u16;
    (slot, if slot >= 2 { slot - 1 } else { 1 })
}

/// A horizontal bar of `width` cells for `value` out of `max` (at least an eighth above zero).
fn hbar(value: f64, max: f64, width: usize) -> String {
    if width == 0 || max <= 0.0 || value <= 0.0 {
        return String::new();
    }
    let eighths = ((value / max).min(1.0) * width as f64 * 8.0)
        .round()
        .max(1.0) as usize;
    let mut s = "█".repeat(eighths / 8);
    s.push_str(LEFT_EIGHTHS[eighths % 8]);
    s
}

fn short_checkpoint(name: &str) -> &str {
    name.trim_start_matches("checkpoint/")
}

/// Width of the label and value columns left of the sparklines.
const SERIES_LABEL: usize = 11;
const SERIES_VALUE: usize = 9;

struct Series {
    label: &'static str,
    values: Vec<Option<f64>>,
    max: f64,
    shown: fn(f64) -> String,
    slot: Slot,
}

fn series_of(points: &[CheckpointPoint]) -> [Series; 3] {
    let cost: Vec<Option<f64>> = points
        .iter()
        .map(|p| p.cost_micros.map(|c| c as f64))
        .collect();
    let cost_max = cost.iter().flatten().copied().fold(0.0, f64::max);
    [
        Series {
            label: "coverage",
            values: points.iter().map(|p| p.coverage).collect(),
            max: 100.0,
            shown: |v| format!("{v:.1}%"),
            slot: Slot::Ok,
        },
        Series {
            label: "QA pass",
            values: points
                .iter()
                .map(|p| p.qa_pass_rate.map(|r| r.rate * 100.0))
                .collect(),
            max: 100.0,
            shown: |v| format!("{v:.0}%"),
            slot: Slot::GatePass,
        },
        Series {
            label: "cost",
            values: cost,
            max: cost_max,
            shown: |v| usd(v as u64),
            slot: Slot::Info,
        },
    ]
}

/// The sparklines, `rows` high each, and the checkpoints they run over.
fn trends(ctx: &Ctx<'_>, figures: Option<&Figures>, rows: u16, pen: &mut Pen<'_>) {
    let width = pen.area.width as usize;
    let Some(f) = figures else {
        pen.line(heading(ctx, "Per checkpoint", "", width));
        return;
    };
    let points = &f.series;
    let note = match points.len() {
        0 => " no checkpoint in the window".to_string(),
        1 => " 1 checkpoint".to_string(),
        n => format!(" oldest → newest · {n} checkpoints"),
    };
    pen.line(heading(ctx, "Per checkpoint", &note, width));
    let left = SERIES_LABEL + SERIES_VALUE + 2;
    let spark_w = width.saturating_sub(left) as u16;
    for s in series_of(points) {
        if pen.room() == 0 {
            return;
        }
        let has_data = s.values.iter().any(Option::is_some);
        let value = match (has_data, s.values.last()) {
            (false, _) => "no data".to_string(),
            (true, Some(Some(v))) => (s.shown)(*v),
            // The newest checkpoint has none: say so rather than show an older value.
            (true, _) => "—".to_string(),
        };
        let value_slot = if has_data { Slot::Text } else { Slot::Dim };
        // A series with nothing to draw takes one line.
        let h = if has_data {
            rows.min(pen.room()).max(1)
        } else {
            1
        };
        let top = pen.y;
        pen.line(Line::from(vec![
            Span::styled(
                format!("{:<SERIES_LABEL$}", fit(s.label, SERIES_LABEL)),
                ctx.style(Slot::Text),
            ),
            Span::styled(
                format!("{:>SERIES_VALUE$}", fit(&value, SERIES_VALUE)),
                ctx.style(value_slot),
            ),
        ]));
        if h > 1 && has_data {
            let known: Vec<f64> = s.values.iter().flatten().copied().collect();
            let lo = known.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let range = format!("{} – {}", (s.shown)(lo), (s.shown)(hi));
            pen.line(Line::from(dim(
                ctx,
                format!("{:>w$}", fit(&range, left - 2), w = left - 2),
            )));
        }
        pen.skip(h.saturating_sub(pen.y - top));
        if has_data && spark_w > 0 {
            let area = Rect::new(pen.area.x + left as u16, top, spark_w, h);
            sparkline(
                &s.values,
                s.max,
                ctx.style(s.slot),
                ctx.style(Slot::Dim),
                area.intersection(pen.area),
                pen.buf,
            );
        }
    }
    // Which checkpoints the columns are.
    let shown = points
        .len()
        .min((spark_w / spark_columns(points.len(), spark_w).0) as usize);
    if shown > 0 && pen.room() > 0 {
        let first = short_checkpoint(&points[points.len() - shown].checkpoint);
        let last = short_checkpoint(&points[points.len() - 1].checkpoint);
        let axis = if shown == 1 {
            last.to_string()
        } else {
            format!("{first} → {last}")
        };
        pen.line(Line::from(dim(
            ctx,
            fit(&format!("{:left$}{axis}", ""), width),
        )));
    }
}

/// The roles with a running time or a cost.
fn role_list(m: &crate::metrics::Metrics) -> Vec<Role> {
    let mut list: Vec<Role> = m
        .tasks
        .by_role
        .keys()
        .chain(m.spend.by_role.keys())
        .copied()
        .collect();
    list.sort();
    list.dedup();
    list
}

/// Running time and cost per role, as bars side by side.
fn roles(ctx: &Ctx<'_>, figures: Option<&Figures>, pen: &mut Pen<'_>) {
    let width = pen.area.width as usize;
    pen.line(heading(ctx, "Per role", " running time · cost", width));
    let Some(m) = figures.map(|f| &f.metrics) else {
        return;
    };
    let list = role_list(m);
    if list.is_empty() {
        pen.line(Line::from(dim(ctx, "  no data")));
        return;
    }
    let time_max = m
        .tasks
        .by_role
        .values()
        .map(|r| r.running_secs)
        .fold(0.0, f64::max);
    let cost_max = m
        .spend
        .by_role
        .values()
        .map(|s| s.cost_micros as f64)
        .fold(0.0, f64::max);
    const LABEL: usize = 13;
    const VALUE: usize = 8;
    let half = width.saturating_sub(LABEL) / 2;
    let bar = half.saturating_sub(VALUE + 1);
    for role in list {
        let time = m.tasks.by_role.get(&role);
        let spend = m.spend.by_role.get(&role);
        let (time_bar, time_text) = match time {
            Some(t) => (hbar(t.running_secs, time_max, bar), secs(t.running_secs)),
            None => (String::new(), "—".to_string()),
        };
        let (cost_bar, cost_text) = match spend {
            Some(s) => (
                hbar(s.cost_micros as f64, cost_max, bar),
                usd(s.cost_micros),
            ),
            None => (String::new(), "—".to_string()),
        };
        pen.line(Line::from(vec![
            Span::styled(
                format!("{:<LABEL$}", fit(role.as_str(), LABEL - 1)),
                ctx.style(Slot::Text),
            ),
            Span::styled(format!("{time_bar:<bar$}"), ctx.style(Slot::Running)),
            Span::styled(
                format!(" {:<VALUE$}", fit(&time_text, VALUE)),
                ctx.style(Slot::Text),
            ),
            Span::styled(format!("{cost_bar:<bar$}"), ctx.style(Slot::Info)),
            Span::styled(
                format!(" {:<VALUE$}", fit(&cost_text, VALUE)),
                ctx.style(Slot::Text),
            ),
        ]));
    }
}

fn p50_p90(d: Option<&Durations>) -> Option<String> {
    d.map(|d| format!("{} / {}", secs(d.p50_secs), secs(d.p90_secs)))
}

/// Raised → acknowledged and raised → resolved, p50 / p90, by severity (most severe first).
fn latency(ctx: &Ctx<'_>, figures: Option<&Figures>, pen: &mut Pen<'_>) {
    let width = pen.area.width as usize;
    const SEV: usize = 16;
    const COL: usize = 18;
    let head = format!("{:<COL$}{:<COL$}open", "ack p50 / p90", "resolve p50 / p90");
    let title = format!("{:<SEV$}", "Concern latency");
    pen.line(heading(ctx, &title, &head, width));
    let Some(m) = figures.map(|f| &f.metrics) else {
        return;
    };
    for sev in [Severity::Critical, Severity::Warning, Severity::Info] {
        let c = m.concerns.get(&sev);
        let cell = |v: Option<String>| match v {
            Some(v) => Span::styled(format!("{:<COL$}", fit(&v, COL - 1)), ctx.style(Slot::Text)),
            None => dim(ctx, format!("{:<COL$}", "no data")),
        };
        pen.line(Line::from(vec![
            Span::styled(
                format!("  {:<w$}", sev.as_str(), w = SEV - 2),
                ctx.style(super::concerns::severity_slot(sev)),
            ),
            cell(p50_p90(c.and_then(|c| c.acknowledged.as_ref()))),
            cell(p50_p90(c.and_then(|c| c.resolved.as_ref()))),
            Span::styled(c.map_or(0, |c| c.open).to_string(), ctx.style(Slot::Text)),
        ]));
    }
}

/// The alerts in force, at most `max_rows` of them.
fn alert_lines(ctx: &Ctx<'_>, max_rows: u16, pen: &mut Pen<'_>) {
    let width = pen.area.width as usize;
    let list = ctx.state.alerts_in_force();
    if list.is_empty() {
        pen.line(heading(ctx, "Alerts", " none in force", width));
        return;
    }
    pen.line(heading(ctx, "Alerts", &format!(" {}", list.len()), width));
    let rows = (max_rows as usize).max(1);
    let cut = list.len() > rows;
    let shown = if cut { rows.saturating_sub(1) } else { rows };
    for a in list.iter().take(shown) {
        let level = format!("  {:<10}", a.level.to_string());
        pen.line(Line::from(vec![
            Span::styled(level, ctx.style(level_slot(a.level))),
            Span::styled(
                fit(&clean(&a.message), width.saturating_sub(12)),
                ctx.style(Slot::Text),
            ),
        ]));
    }
    if cut {
        pen.line(Line::from(dim(
            ctx,
            format!("  +{} more", list.len() - shown),
        )));
    }
}

fn title_note(view: &MetricsView) -> String {
    match &view.figures {
        Some(f) if f.window == view.window => {
            // The time of day of the figures (the stamp is RFC 3339, UTC).
            let at = f.now.get(11..19).unwrap_or(&f.now);
            let mut s = format!("window {} · as of {at}Z", f.window);
            if view.loading {
                s.push_str(" · updating");
            }
            s
        }
        Some(f) if view.loading => format!("window {} · {} computing…", f.window, view.window),
        Some(f) => format!("window {} · {} not computed", f.window, view.window),
        None => format!("window {}", view.window),
    }
}

pub fn render(ctx: &Ctx<'_>, view: &MetricsView, area: Rect, buf: &mut Buffer) {
    let block = ctx.block("Metrics", Some(title_note(view)));
    block.render(area, buf);
    let body = inner(area);
    if body.is_empty() {
        return;
    }
    let mut pen = Pen {
        area: body,
        y: body.y,
        buf,
    };
    alert_lines(ctx, (body.height / 5).max(1), &mut pen);
    let figures = view.figures.as_ref();
    if figures.is_none() || view.error.is_some() {
        let (text, slot) = match &view.error {
            Some(e) => (
                format!("cannot compute the figures: {}", clean(e)),
                Slot::Error,
            ),
            None => ("computing the figures…".to_string(), Slot::Dim),
        };
        let rest = Rect {
            y: pen.y,
            height: pen.room(),
            ..body
        };
        Paragraph::new(Line::from(Span::styled(text, ctx.style(slot))))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .render(rest, pen.buf);
        if figures.is_none() {
            return;
        }
        pen.skip(1);
    }
    if pen.room() > 8 {
        pen.skip(1);
    }
    let rest = Rect {
        y: pen.y,
        height: pen.room(),
        ..body
    };
    if rest.is_empty() {
        return;
    }
    if rest.width >= 100 {
        // Side by side: the trends left, roles and latency right.
        let left_w = rest.width / 2 - 1;
        let left = Rect {
            width: left_w,
            ..rest
        };
        let right = Rect {
            x: rest.x + left_w + 2,
            width: rest.width - left_w - 2,
            ..rest
        };
        // Heading, three series, the axis.
        let rows = (left.height.saturating_sub(2) / 3).clamp(1, 6);
        let mut lp = Pen {
            area: left,
            y: left.y,
            buf: pen.buf,
        };
        trends(ctx, figures, rows, &mut lp);
        let mut rp = Pen {
            area: right,
            y: right.y,
            buf: lp.buf,
        };
        roles(ctx, figures, &mut rp);
        if rp.room() > 4 {
            rp.skip(1);
        }
        latency(ctx, figures, &mut rp);
    } else {
        let mut p = Pen {
            area: rest,
            y: rest.y,
            buf: pen.buf,
        };
        // The sparklines grow into the height the other sections leave.
        let roles_n = figures.map_or(1, |f| role_list(&f.metrics).len().max(1)) as u16;
        let others = 2 + (1 + roles_n) + 4 + 2;
        let rows = (rest.height.saturating_sub(others) / 3).clamp(1, 4);
        trends(ctx, figures, rows, &mut p);
        if p.room() > 9 {
            p.skip(1);
        }
        roles(ctx, figures, &mut p);
        if p.room() > 4 {
            p.skip(1);
        }
        latency(ctx, figures, &mut p);
    }
}

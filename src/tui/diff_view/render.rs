//! Drawing the viewer: a pure function of (view, highlights, theme, area) into a buffer — the
//! file list, and the hunks of the selected file unified or side by side.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span as TextSpan};
use ratatui::widgets::{Block, Borders, Widget};

use super::line_text::LineCtx;
use super::panes::panes;
use super::rows::{unified_side, Layout, Row};
use super::view::{DiffView, Focus};
use crate::protocol::diff::{FileContent, FileStatus, Hunk};
use crate::tui::highlight::{Highlights, TextSide};
use crate::tui::theme::{Slot, Theme};

fn digits(n: u32) -> usize {
    n.max(1).ilog10() as usize + 1
}

fn status_letter(s: FileStatus) -> &'static str {
    match s {
        FileStatus::Added => "A",
        FileStatus::Deleted => "D",
        FileStatus::Modified => "M",
        FileStatus::Renamed => "R",
    }
}

/// Draws the viewer into `area` of `buf`.
pub fn render(
    view: &DiffView,
    highlights: &Highlights,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let Some((list, diff)) = panes(area) else {
        let msg = "too small for the diff";
        if area.height > 0 {
            buf.set_stringn(
                area.x,
                area.y,
                msg,
                area.width as usize,
                theme.style(Slot::Warn),
            );
        }
        return;
    };
    let border = |focused: bool| {
        theme.style(if focused {
            Slot::BorderFocused
        } else {
            Slot::Border
        })
    };
    if let Some(list) = list {
        render_files(view, theme, list, buf, border(view.focus == Focus::Files));
    }
    render_hunks(
        view,
        highlights,
        theme,
        diff,
        buf,
        border(view.focus == Focus::Hunks),
    );
}

fn render_files(view: &DiffView, theme: &Theme, area: Rect, buf: &mut Buffer, border: Style) {
    let files = &view.set.files;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(TextSpan::styled(
            format!(" Files {} ", files.len()),
            theme.style(Slot::Title),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let height = inner.height as usize;
    if height == 0 {
        return;
    }
    let offset = view.selected.saturating_sub(height - 1);
    let paths: Vec<&str> = files.iter().map(|f| f.path()).collect();
    for (row, (i, f)) in files
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .enumerate()
    {
        let y = inner.y + row as u16;
        // The path comes first: shortened from the middle to stay told apart from the others
        // listed; the counts show when there is room left for them.
        let counts = format!(" +{} -{}", f.additions, f.deletions);
        let room = (inner.width as usize).saturating_sub(2);
        let path = f.path();
        let full = path.chars().count() + counts.len() <= room;
        let name_w = if full { room - counts.len() } else { room };
        let shown = crate::tui::text::shorten_path(path, &paths, name_w);
        let sel = if i == view.selected {
            theme.style(Slot::Selection)
        } else {
            Style::default()
        };
        let mut spans = vec![
            TextSpan::styled(
                format!("{} ", status_letter(f.status)),
                theme.style(Slot::Dim).patch(sel),
            ),
            TextSpan::styled(
                format!("{shown:<name_w$}"),
                theme.style(Slot::Text).patch(sel),
            ),
        ];
        if full {
            spans.push(TextSpan::styled(
                format!(" +{}", f.additions),
                theme.style(Slot::DiffAdd).patch(sel),
            ));
            spans.push(TextSpan::styled(
                format!(" -{}", f.deletions),
                theme.style(Slot::DiffDelete).patch(sel),
            ));
        }
        buf.set_line(inner.x, y, &Line::from(spans), inner.width);
    }
}

fn render_hunks(
    view: &DiffView,
    highlights: &Highlights,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
    border: Style,
) {
    let file = view.file();
    let block = hunks_block(view, theme, border);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let Some(file) = file else {
        buf.set_stringn(
            inner.x,
            inner.y,
            "no changes",
            inner.width as usize,
            theme.style(Slot::Dim),
        );
        return;
    };
    let hunks: &[Hunk] = match &file.content {
        FileContent::Text { hunks } => hunks,
        _ => &[],
    };
    let rows = Rows {
        hunks,
        width: number_width(hunks),
        theme,
        ctx: LineCtx {
            theme,
            highlights,
            file: view.selected,
        },
    };
    for (k, row) in view
        .rows
        .iter()
        .skip(view.scroll)
        .take(inner.height as usize)
        .enumerate()
    {
        let y = inner.y + k as u16;
        match row {
            Row::Note(text) => rows.note(text, inner, y, buf),
            Row::Hunk(h) => rows.hunk_header(*h, inner, y, buf),
            Row::Line(h, l) => rows.unified_line(*h, *l, inner, y, buf),
            Row::Pair(left, right) => rows.pair(*left, *right, inner, y, buf),
        }
    }
}

/// The hunks pane's frame: the file, its counts, and where the view is (mode, hunk, file).
fn hunks_block<'a>(view: &DiffView, theme: &Theme, border: Style) -> Block<'a> {
    let mut block = Block::default().borders(Borders::ALL).border_style(border);
    match view.file() {
        Some(f) => {
            block = block.title(Line::from(vec![
                TextSpan::styled(format!(" {} ", f.path()), theme.style(Slot::DiffFileHeader)),
                TextSpan::styled(format!("+{} ", f.additions), theme.style(Slot::DiffAdd)),
                TextSpan::styled(format!("-{} ", f.deletions), theme.style(Slot::DiffDelete)),
            ]));
            let hunk_at = view
                .hunk_rows
                .iter()
                .rposition(|&r| r <= view.scroll)
                .map_or(0, |i| i + 1);
            let mode = match view.layout {
                Layout::Unified => "unified",
                Layout::SideBySide => "side by side",
            };
            block = block.title_bottom(TextSpan::styled(
                format!(
                    " {mode} · hunk {hunk_at}/{} · file {}/{} ",
                    view.hunk_rows.len(),
                    view.selected + 1,
                    view.set.files.len()
                ),
                theme.style(Slot::Dim),
            ));
        }
        None => {
            block = block.title(TextSpan::styled(" Diff ", theme.style(Slot::Title)));
        }
    }
    block
}

/// The width of the line numbers: the digits of the highest line any hunk reaches.
fn number_width(hunks: &[Hunk]) -> usize {
    hunks
        .iter()
        .map(|h| {
            digits(
                h.old_start
                    .saturating_add(h.old_len)
                    .max(h.new_start.saturating_add(h.new_len)),
            )
        })
        .max()
        .unwrap_or(1)
}

/// Draws the rows of the selected file, one kind of row each.
struct Rows<'a> {
    hunks: &'a [Hunk],
    /// The width of the line numbers.
    width: usize,
    theme: &'a Theme,
    ctx: LineCtx<'a>,
}

impl Rows<'_> {
    fn note(&self, text: &str, inner: Rect, y: u16, buf: &mut Buffer) {
        buf.set_stringn(
            inner.x,
            y,
            text,
            inner.width as usize,
            self.theme.style(Slot::Dim),
        );
    }

    fn hunk_header(&self, h: usize, inner: Rect, y: u16, buf: &mut Buffer) {
        let hk = &self.hunks[h];
        let text = format!(
            "@@ -{},{} +{},{} @@",
            hk.old_start, hk.old_len, hk.new_start, hk.new_len
        );
        let style = self.theme.style(Slot::DiffHunkHeader);
        buf.set_style(Rect::new(inner.x, y, inner.width, 1), style);
        buf.set_stringn(inner.x, y, text, inner.width as usize, style);
    }

    /// Unified: both line numbers, then the line.
    fn unified_line(&self, h: usize, l: usize, inner: Rect, y: u16, buf: &mut Buffer) {
        let (width, theme) = (self.width, self.theme);
        let line = &self.hunks[h].lines[l];
        let mut spans = vec![
            number(line.old_no, width, theme),
            number(line.new_no, width, theme),
        ];
        self.ctx.push_text(
            &mut spans,
            line,
            unified_side(line.kind),
            inner.width as usize,
        );
        buf.set_line(inner.x, y, &Line::from(spans), inner.width);
    }

    /// Side by side: the old line on the left, the new on the right, a rule between.
    fn pair(
        &self,
        left: Option<(usize, usize)>,
        right: Option<(usize, usize)>,
        inner: Rect,
        y: u16,
        buf: &mut Buffer,
    ) {
        let (width, theme) = (self.width, self.theme);
        let half = inner.width / 2;
        let right_x = inner.x + half + 1;
        let right_w = inner.width.saturating_sub(half + 1);
        for ((cell, side), (x, w)) in [(left, TextSide::Old), (right, TextSide::New)]
            .into_iter()
            .zip([(inner.x, half), (right_x, right_w)])
        {
            let Some((h, l)) = cell else {
                continue;
            };
            let line = &self.hunks[h].lines[l];
            let no = match side {
                TextSide::Old => line.old_no,
                TextSide::New => line.new_no,
            };
            let mut spans = vec![number(no, width, theme)];
            self.ctx.push_text(&mut spans, line, side, w as usize);
            buf.set_line(x, y, &Line::from(spans), w);
        }
        if half < inner.width {
            buf.set_stringn(inner.x + half, y, "│", 1, theme.style(Slot::Border));
        }
    }
}

fn number(no: Option<u32>, width: usize, theme: &Theme) -> TextSpan<'static> {
    let text = match no {
        Some(n) => format!("{n:>width$} "),
        None => format!("{:width$} ", ""),
    };
    TextSpan::styled(text, theme.style(Slot::LineNumber))
}

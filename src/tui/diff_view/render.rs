//! Drawing the viewer: a pure function of (view, highlights, theme, area) into a buffer — the
//! file list, and the hunks of the selected file unified or side by side.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span as TextSpan};
use ratatui::widgets::{Block, Borders, Widget};

use super::line_text::{display_width, LineCtx, Window};
use super::panes::{number_width, panes};
use super::rows::{unified_side, Layout, Row};
use super::search::PromptKind;
use super::view::{DiffView, Focus};
use crate::protocol::diff::{FileContent, FileStatus, Hunk};
use crate::tui::highlight::{Highlights, TextSide};
use crate::tui::theme::{Slot, Theme};

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
    let shown = &view.find.shown;
    let count = if view.find.filter.is_empty() {
        format!(" Files {} ", files.len())
    } else {
        format!(" Files {}/{} ", shown.len(), files.len())
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(TextSpan::styled(count, theme.style(Slot::Title)));
    let typing = view
        .find
        .prompt
        .as_ref()
        .filter(|p| p.kind == PromptKind::Filter);
    if let Some(p) = typing {
        block = block.title_bottom(TextSpan::styled(
            format!(" filter: {}▏", p.text),
            theme.style(Slot::Key),
        ));
    } else if !view.find.filter.is_empty() {
        block = block.title_bottom(TextSpan::styled(
            format!(" filter: {} ", view.find.filter),
            theme.style(Slot::Dim),
        ));
    }
    let inner = block.inner(area);
    block.render(area, buf);
    let height = inner.height as usize;
    if height == 0 {
        return;
    }
    if shown.is_empty() {
        buf.set_stringn(
            inner.x,
            inner.y,
            "no file matches",
            inner.width as usize,
            theme.style(Slot::Dim),
        );
        return;
    }
    let offset = view.list_offset(height);
    let paths: Vec<&str> = files.iter().map(|f| f.path()).collect();
    for (row, &i) in shown.iter().skip(offset).take(height).enumerate() {
        let f = &files[i];
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
        // A file the reviewer has findings about is marked after its status letter.
        let reviewed = view.reviewed(path) > 0;
        let mut spans = vec![
            TextSpan::styled(
                status_letter(f.status).to_string(),
                theme.style(Slot::Dim).patch(sel),
            ),
            TextSpan::styled(
                if reviewed { "◆" } else { " " },
                theme.style(Slot::Warn).patch(sel),
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
            find: &view.find,
        },
        hscroll: view.hscroll,
        wrap: view.wrap,
    };
    let mut y = inner.y;
    for row in view.rows.iter().skip(view.scroll) {
        if y >= inner.bottom() {
            break;
        }
        let segments = match row {
            Row::Line(..) | Row::Pair(..) if view.wrap => rows.segments(row, inner),
            _ => 1,
        };
        for seg in 0..segments {
            if y >= inner.bottom() {
                break;
            }
            match row {
                Row::Note(text) => rows.note(text, inner, y, buf),
                Row::Review(text) => rows.review(text, inner, y, buf),
                Row::Hunk(h) => rows.hunk_header(*h, inner, y, buf),
                Row::Line(h, l) => rows.unified_line(*h, *l, inner, (y, seg), buf),
                Row::Pair(left, right) => rows.pair(*left, *right, inner, (y, seg), buf),
            }
            y += 1;
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
            let cut = if view.wrap {
                " · wrap".to_string()
            } else if view.hscroll > 0 {
                format!(" · col {}", view.hscroll + 1)
            } else {
                String::new()
            };
            block = block.title_bottom(TextSpan::styled(
                format!(
                    " {mode}{cut} · hunk {hunk_at}/{} · file {}/{} ",
                    view.hunk_rows.len(),
                    view.selected + 1,
                    view.set.files.len()
                ),
                theme.style(Slot::Dim),
            ));
            if let Some(find) = find_title(view, theme) {
                block = block.title_bottom(find.right_aligned());
            }
        }
        None => {
            block = block.title(TextSpan::styled(" Diff ", theme.style(Slot::Title)));
        }
    }
    block
}

/// Draws the rows of the selected file, one kind of row each.
struct Rows<'a> {
    hunks: &'a [Hunk],
    /// The width of the line numbers.
    width: usize,
    theme: &'a Theme,
    ctx: LineCtx<'a>,
    /// Columns of the text scrolled off to the left.
    hscroll: usize,
    /// Long lines wrap onto more rows.
    wrap: bool,
}

/// The search prompt being typed, or the search's status, for the hunks pane's bottom edge.
fn find_title<'a>(view: &DiffView, theme: &Theme) -> Option<Line<'a>> {
    let status = view.find.status();
    let typing = view
        .find
        .prompt
        .as_ref()
        .filter(|p| p.kind == PromptKind::Search);
    match (typing, status) {
        (Some(p), status) => {
            let mut spans = vec![TextSpan::styled(
                format!(" /{}▏", p.text),
                theme.style(Slot::Key),
            )];
            if let Some(s) = status {
                spans.push(TextSpan::styled(format!(" {s} "), theme.style(Slot::Dim)));
            }
            Some(Line::from(spans))
        }
        (None, Some(s)) => {
            let slot = if view.find.matches.is_empty() {
                Slot::Warn
            } else {
                Slot::Dim
            };
            Some(Line::from(TextSpan::styled(
                format!(" {s} · n/N "),
                theme.style(slot),
            )))
        }
        (None, None) => None,
    }
}

impl Rows<'_> {
    /// The window of a line's text on segment `seg` of its row, `cols` wide.
    fn window(&self, cols: usize, seg: usize) -> Window {
        if self.wrap {
            Window {
                skip: seg * cols,
                cols,
                marks: false,
            }
        } else {
            Window {
                skip: self.hscroll,
                cols,
                marks: true,
            }
        }
    }

    /// The text columns of a unified line, and of the two halves side by side.
    fn unified_cols(&self, inner: Rect) -> usize {
        (inner.width as usize).saturating_sub(2 * (self.width + 1) + 1)
    }

    fn halves(&self, inner: Rect) -> [(u16, u16); 2] {
        let half = inner.width / 2;
        [
            (inner.x, half),
            (inner.x + half + 1, inner.width.saturating_sub(half + 1)),
        ]
    }

    /// How many screen rows a wrapped row takes.
    fn segments(&self, row: &Row, inner: Rect) -> usize {
        let need = |h: usize, l: usize, cols: usize| {
            display_width(&self.hunks[h].lines[l].text).div_ceil(cols.max(1))
        };
        let n = match row {
            Row::Line(h, l) => need(*h, *l, self.unified_cols(inner)),
            Row::Pair(left, right) => {
                let [(_, lw), (_, rw)] = self.halves(inner);
                let side_cols = |w: u16| (w as usize).saturating_sub(self.width + 2);
                let a = left.map_or(0, |(h, l)| need(h, l, side_cols(lw)));
                let b = right.map_or(0, |(h, l)| need(h, l, side_cols(rw)));
                a.max(b)
            }
            _ => 1,
        };
        n.max(1)
    }

    fn note(&self, text: &str, inner: Rect, y: u16, buf: &mut Buffer) {
        buf.set_stringn(
            inner.x,
            y,
            text,
            inner.width as usize,
            self.theme.style(Slot::Dim),
        );
    }

    fn review(&self, text: &str, inner: Rect, y: u16, buf: &mut Buffer) {
        buf.set_stringn(
            inner.x,
            y,
            format!("  {text}"),
            inner.width as usize,
            self.theme.style(Slot::Warn),
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
    fn unified_line(
        &self,
        h: usize,
        l: usize,
        inner: Rect,
        (y, seg): (u16, usize),
        buf: &mut Buffer,
    ) {
        let (width, theme) = (self.width, self.theme);
        let line = &self.hunks[h].lines[l];
        let first = seg == 0;
        let mut spans = vec![
            number(line.old_no.filter(|_| first), width, theme),
            number(line.new_no.filter(|_| first), width, theme),
        ];
        let win = self.window(self.unified_cols(inner), seg);
        self.ctx.push_text(
            &mut spans,
            (h, l),
            line,
            unified_side(line.kind),
            win,
            first,
        );
        buf.set_line(inner.x, y, &Line::from(spans), inner.width);
    }

    /// Side by side: the old line on the left, the new on the right, a rule between.
    fn pair(
        &self,
        left: Option<(usize, usize)>,
        right: Option<(usize, usize)>,
        inner: Rect,
        (y, seg): (u16, usize),
        buf: &mut Buffer,
    ) {
        let (width, theme) = (self.width, self.theme);
        let half = inner.width / 2;
        let first = seg == 0;
        for ((cell, side), (x, w)) in [(left, TextSide::Old), (right, TextSide::New)]
            .into_iter()
            .zip(self.halves(inner))
        {
            let Some((h, l)) = cell else {
                continue;
            };
            let line = &self.hunks[h].lines[l];
            let no = match side {
                TextSide::Old => line.old_no,
                TextSide::New => line.new_no,
            };
            let mut spans = vec![number(no.filter(|_| first), width, theme)];
            let win = self.window((w as usize).saturating_sub(width + 2), seg);
            self.ctx
                .push_text(&mut spans, (h, l), line, side, win, first);
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

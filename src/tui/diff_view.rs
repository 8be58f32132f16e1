//! The diff viewer: the view state of a diff (which file, where in it, unified or side by
//! side, which pane has focus), pure key methods that say whether anything changed, the
//! highlight requests for what is on screen, and a pure `render` of (view, highlights,
//! theme, area) into a buffer. Text shows plain at once and takes its syntax colours when
//! the highlighter's results arrive.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span as TextSpan};
use ratatui::widgets::{Block, Borders, Widget};

use git2::Repository;

use crate::core::diff::text::{diff_text, CONTEXT};
use crate::core::diff::{file_text, DiffError, Side};
use crate::protocol::diff::{
    DiffLine, DiffSet, FileContent, FileDiff, FileStatus, LineKind, Span as WordSpan,
};
use crate::tui::highlight::{HighlightRequest, Highlights, StyledRange, TextSide};
use crate::tui::theme::{Slot, Theme};

/// The whole old and new text of a file, one entry per line (for syntax highlighting, which
/// must read a file from its start).
#[derive(Debug, Clone, Default)]
pub struct FileTexts {
    pub old: Arc<Vec<String>>,
    pub new: Arc<Vec<String>>,
}

impl FileTexts {
    pub fn from_texts(old: &str, new: &str) -> FileTexts {
        FileTexts {
            old: Arc::new(split_lines(old)),
            new: Arc::new(split_lines(new)),
        }
    }
}

/// Splits as the diff model splits, so line `n` here is line `n` of the hunks.
fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l).to_string())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Unified,
    SideBySide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Files,
    Hunks,
}

/// One screen row of the selected file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Row {
    Hunk(usize),
    /// A line of hunk `.0` (unified).
    Line(usize, usize),
    /// Side by side: the old line and the new line shown next to each other.
    Pair(Option<(usize, usize)>, Option<(usize, usize)>),
    Note(String),
}

/// Narrower than this, the viewer shows a message instead of a diff.
pub const MIN_WIDTH: u16 = 24;
pub const MIN_HEIGHT: u16 = 4;
/// From this width on, the file list is shown beside the hunks.
pub const FILE_LIST_FROM: u16 = 70;

/// The view state of one diff.
#[derive(Debug, Clone)]
pub struct DiffView {
    set: DiffSet,
    texts: Vec<Option<FileTexts>>,
    selected: usize,
    scroll: usize,
    layout: Layout,
    focus: Focus,
    rows: Vec<Row>,
    hunk_rows: Vec<usize>,
}

impl DiffView {
    /// A view of `set`; `texts[i]` (when present) is the whole text of file `i`'s sides.
    pub fn new(set: DiffSet, mut texts: Vec<Option<FileTexts>>) -> DiffView {
        texts.resize(set.files.len(), None);
        let mut view = DiffView {
            set,
            texts,
            selected: 0,
            scroll: 0,
            layout: Layout::Unified,
            focus: Focus::Hunks,
            rows: Vec::new(),
            hunk_rows: Vec::new(),
        };
        view.rebuild();
        view
    }

    /// A view of one file's two texts (diffed here).
    pub fn from_texts(path: &str, old: &str, new: &str) -> DiffView {
        let d = diff_text(old, new, CONTEXT);
        let file = FileDiff {
            old_path: Some(path.to_string()),
            new_path: Some(path.to_string()),
            status: FileStatus::Modified,
            additions: d.additions,
            deletions: d.deletions,
            content: FileContent::Text { hunks: d.hunks },
        };
        let set = DiffSet {
            from: "old".into(),
            to: "new".into(),
            from_id: String::new(),
            to_id: String::new(),
            files: vec![file],
        };
        DiffView::new(set, vec![Some(FileTexts::from_texts(old, new))])
    }

    /// Loads the diff between two sides of a repository with the texts of its text files.
    /// Blocking (git2 and diffing): call it off the UI loop.
    pub fn load(repo: &Repository, from: &Side, to: &Side) -> Result<DiffView, DiffError> {
        let set = crate::core::diff::diff(repo, from, to)?;
        let mut texts = Vec::with_capacity(set.files.len());
        for f in &set.files {
            if !matches!(f.content, FileContent::Text { .. }) {
                texts.push(None);
                continue;
            }
            let side = |side: &Side, path: &Option<String>| -> Result<Vec<String>, DiffError> {
                Ok(match path {
                    Some(p) => file_text(repo, side, p)?
                        .map(|t| split_lines(&t))
                        .unwrap_or_default(),
                    None => Vec::new(),
                })
            };
            texts.push(Some(FileTexts {
                old: Arc::new(side(from, &f.old_path)?),
                new: Arc::new(side(to, &f.new_path)?),
            }));
        }
        Ok(DiffView::new(set, texts))
    }

    pub fn set(&self) -> &DiffSet {
        &self.set
    }
    pub fn selected(&self) -> usize {
        self.selected
    }
    pub fn scroll(&self) -> usize {
        self.scroll
    }
    pub fn layout(&self) -> Layout {
        self.layout
    }
    pub fn focus(&self) -> Focus {
        self.focus
    }
    /// Rows of the selected file in the current layout.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }
    /// The row each hunk header of the selected file is on.
    pub fn hunk_rows(&self) -> &[usize] {
        &self.hunk_rows
    }

    fn file(&self) -> Option<&FileDiff> {
        self.set.files.get(self.selected)
    }

    fn rebuild(&mut self) {
        self.rows.clear();
        self.hunk_rows.clear();
        let Some(file) = self.set.files.get(self.selected) else {
            return;
        };
        match &file.content {
            FileContent::Binary { old_size, new_size } => self.rows.push(Row::Note(format!(
                "binary file: {old_size} → {new_size} bytes"
            ))),
            FileContent::TooLarge { old_size, new_size } => self.rows.push(Row::Note(format!(
                "too large to diff: {old_size} → {new_size} bytes"
            ))),
            FileContent::Text { hunks } if hunks.is_empty() => {
                self.rows.push(Row::Note("no line changes".into()))
            }
            FileContent::Text { hunks } => {
                for (h, hunk) in hunks.iter().enumerate() {
                    self.hunk_rows.push(self.rows.len());
                    self.rows.push(Row::Hunk(h));
                    match self.layout {
                        Layout::Unified => {
                            self.rows
                                .extend((0..hunk.lines.len()).map(|l| Row::Line(h, l)));
                        }
                        Layout::SideBySide => pair_rows(h, &hunk.lines, &mut self.rows),
                    }
                }
            }
        }
        self.scroll = self.scroll.min(self.rows.len().saturating_sub(1));
    }

    /// After a reload of the same diff: the same file (by path), layout, focus and scroll
    /// as `old`, as far as they still exist.
    pub fn carry_over(&mut self, old: &DiffView) {
        let path = old.file().map(|f| f.path().to_string());
        if let Some(i) = path.and_then(|p| self.set.files.iter().position(|f| f.path() == p)) {
            self.selected = i;
        }
        self.layout = old.layout;
        self.focus = old.focus;
        self.rebuild();
        self.scroll = old.scroll.min(self.rows.len().saturating_sub(1));
    }

    // ---- keys: each returns whether anything changed ----

    pub fn select_file(&mut self, index: usize) -> bool {
        if index >= self.set.files.len() || index == self.selected {
            return false;
        }
        self.selected = index;
        self.scroll = 0;
        self.rebuild();
        true
    }

    pub fn next_file(&mut self) -> bool {
        self.select_file(self.selected + 1)
    }

    pub fn prev_file(&mut self) -> bool {
        match self.selected.checked_sub(1) {
            Some(i) => self.select_file(i),
            None => false,
        }
    }

    /// To the next hunk header below the top row; past the last hunk, the next file.
    pub fn next_hunk(&mut self) -> bool {
        if let Some(&row) = self.hunk_rows.iter().find(|&&r| r > self.scroll) {
            self.scroll = row;
            return true;
        }
        self.next_file()
    }

    /// To the previous hunk header above the top row; before the first, the previous file's
    /// last hunk.
    pub fn prev_hunk(&mut self) -> bool {
        if let Some(&row) = self.hunk_rows.iter().rev().find(|&&r| r < self.scroll) {
            self.scroll = row;
            return true;
        }
        if self.prev_file() {
            self.scroll = self.hunk_rows.last().copied().unwrap_or(0);
            return true;
        }
        false
    }

    fn scroll_to(&mut self, row: usize) -> bool {
        let row = row.min(self.rows.len().saturating_sub(1));
        let changed = row != self.scroll;
        self.scroll = row;
        changed
    }

    pub fn scroll_down(&mut self, n: usize) -> bool {
        self.scroll_to(self.scroll.saturating_add(n))
    }

    pub fn scroll_up(&mut self, n: usize) -> bool {
        self.scroll_to(self.scroll.saturating_sub(n))
    }

    /// A page is the diff pane's height ([`DiffView::page_height`]).
    pub fn page_down(&mut self, page: u16) -> bool {
        self.scroll_down((page as usize).max(1))
    }

    pub fn page_up(&mut self, page: u16) -> bool {
        self.scroll_up((page as usize).max(1))
    }

    pub fn top(&mut self) -> bool {
        self.scroll_to(0)
    }

    /// The last page in view.
    pub fn bottom(&mut self, page: u16) -> bool {
        self.scroll_to(self.rows.len().saturating_sub(page as usize))
    }

    pub fn toggle_layout(&mut self) -> bool {
        // Keep the same diff line at the top.
        let anchor = self.rows.get(self.scroll).cloned();
        self.layout = match self.layout {
            Layout::Unified => Layout::SideBySide,
            Layout::SideBySide => Layout::Unified,
        };
        self.rebuild();
        if let Some(anchor) = anchor {
            let at = self.rows.iter().position(|r| same_place(r, &anchor));
            self.scroll = at.unwrap_or(0);
        }
        true
    }

    pub fn toggle_focus(&mut self) -> bool {
        self.focus = match self.focus {
            Focus::Files => Focus::Hunks,
            Focus::Hunks => Focus::Files,
        };
        true
    }

    /// Up/down keys: move the file selection or scroll, by focus.
    pub fn down(&mut self) -> bool {
        match self.focus {
            Focus::Files => self.next_file(),
            Focus::Hunks => self.scroll_down(1),
        }
    }

    pub fn up(&mut self) -> bool {
        match self.focus {
            Focus::Files => self.prev_file(),
            Focus::Hunks => self.scroll_up(1),
        }
    }

    /// The number of diff rows `area` shows (the page size for the page keys).
    pub fn page_height(area: Rect) -> u16 {
        panes(area)
            .map(|(_, d)| d.height.saturating_sub(2))
            .unwrap_or(0)
    }

    /// Highlight requests for the lines of the selected file on screen in `area` that
    /// `have` does not hold yet (empty when there is nothing to ask, or no texts).
    pub fn highlight_requests(
        &self,
        generation: u64,
        area: Rect,
        have: &Highlights,
    ) -> Vec<HighlightRequest> {
        let Some(Some(texts)) = self.texts.get(self.selected) else {
            return Vec::new();
        };
        let Some(file) = self.file() else {
            return Vec::new();
        };
        let FileContent::Text { hunks } = &file.content else {
            return Vec::new();
        };
        let page = Self::page_height(area) as usize;
        let (mut old, mut new) = (Vec::new(), Vec::new());
        let mut want = |side: TextSide, line: &DiffLine| {
            let (no, into) = match side {
                TextSide::Old => (line.old_no, &mut old),
                TextSide::New => (line.new_no, &mut new),
            };
            if let Some(no) = no {
                if !have.contains(self.selected, side, no) {
                    into.push(no);
                }
            }
        };
        for row in self.rows.iter().skip(self.scroll).take(page) {
            match row {
                Row::Line(h, l) => {
                    let line = &hunks[*h].lines[*l];
                    want(unified_side(line.kind), line);
                }
                Row::Pair(left, right) => {
                    if let Some((h, l)) = left {
                        want(TextSide::Old, &hunks[*h].lines[*l]);
                    }
                    if let Some((h, l)) = right {
                        want(TextSide::New, &hunks[*h].lines[*l]);
                    }
                }
                Row::Hunk(_) | Row::Note(_) => {}
            }
        }
        let path = file.path().to_string();
        let mut out = Vec::new();
        for (side, lines, text) in [
            (TextSide::Old, old, &texts.old),
            (TextSide::New, new, &texts.new),
        ] {
            if !lines.is_empty() {
                out.push(HighlightRequest {
                    generation,
                    file: self.selected,
                    side,
                    path: path.clone(),
                    text: text.clone(),
                    lines,
                });
            }
        }
        out
    }
}

fn same_place(a: &Row, b: &Row) -> bool {
    match (a, b) {
        (Row::Hunk(x), Row::Hunk(y)) => x == y,
        (Row::Line(h, l), Row::Pair(x, y)) | (Row::Pair(x, y), Row::Line(h, l)) => {
            *x == Some((*h, *l)) || *y == Some((*h, *l))
        }
        _ => a == b,
    }
}

/// Context lines pair with themselves; a run of removed lines pairs line by line with the
/// added run after it, the longer run's rest facing blanks.
fn pair_rows(h: usize, lines: &[DiffLine], rows: &mut Vec<Row>) {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].kind == LineKind::Context {
            rows.push(Row::Pair(Some((h, i)), Some((h, i))));
            i += 1;
            continue;
        }
        let removed_from = i;
        while i < lines.len() && lines[i].kind == LineKind::Removed {
            i += 1;
        }
        let added_from = i;
        while i < lines.len() && lines[i].kind == LineKind::Added {
            i += 1;
        }
        let (r, a) = (added_from - removed_from, i - added_from);
        for k in 0..r.max(a) {
            rows.push(Row::Pair(
                (k < r).then_some((h, removed_from + k)),
                (k < a).then_some((h, added_from + k)),
            ));
        }
    }
}

fn unified_side(kind: LineKind) -> TextSide {
    match kind {
        LineKind::Removed => TextSide::Old,
        LineKind::Added | LineKind::Context => TextSide::New,
    }
}

/// The file list and diff panes of `area`, or `None` when it is too small.
fn panes(area: Rect) -> Option<(Option<Rect>, Rect)> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    if area.width < FILE_LIST_FROM {
        return Some((None, area));
    }
    let list_w = (area.width / 4).clamp(20, 40);
    let list = Rect::new(area.x, area.y, list_w, area.height);
    let diff = Rect::new(area.x + list_w, area.y, area.width - list_w, area.height);
    Some((Some(list), diff))
}

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
    for (row, (i, f)) in files
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .enumerate()
    {
        let y = inner.y + row as u16;
        let counts = format!(" +{} -{}", f.additions, f.deletions);
        let name_w = (inner.width as usize).saturating_sub(counts.len() + 2);
        let path = f.path();
        // Long paths keep their end (the file name).
        let shown: String = if path.chars().count() > name_w {
            let tail: String = path
                .chars()
                .rev()
                .take(name_w.saturating_sub(1))
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        } else {
            path.to_string()
        };
        let sel = if i == view.selected {
            theme.style(Slot::Selection)
        } else {
            Style::default()
        };
        let spans = vec![
            TextSpan::styled(
                format!("{} ", status_letter(f.status)),
                theme.style(Slot::Dim).patch(sel),
            ),
            TextSpan::styled(
                format!("{shown:<name_w$}"),
                theme.style(Slot::Text).patch(sel),
            ),
            TextSpan::styled(
                format!(" +{}", f.additions),
                theme.style(Slot::DiffAdd).patch(sel),
            ),
            TextSpan::styled(
                format!(" -{}", f.deletions),
                theme.style(Slot::DiffDelete).patch(sel),
            ),
        ];
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
    let mut block = Block::default().borders(Borders::ALL).border_style(border);
    let file = view.file();
    match file {
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
    let hunks: &[crate::protocol::diff::Hunk] = match &file.content {
        FileContent::Text { hunks } => hunks,
        _ => &[],
    };
    let width = hunks
        .iter()
        .map(|h| {
            digits(
                h.old_start
                    .saturating_add(h.old_len)
                    .max(h.new_start.saturating_add(h.new_len)),
            )
        })
        .max()
        .unwrap_or(1);
    let ctx = LineCtx {
        theme,
        highlights,
        file: view.selected,
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
            Row::Note(text) => {
                buf.set_stringn(
                    inner.x,
                    y,
                    text,
                    inner.width as usize,
                    theme.style(Slot::Dim),
                );
            }
            Row::Hunk(h) => {
                let hk = &hunks[*h];
                let text = format!(
                    "@@ -{},{} +{},{} @@",
                    hk.old_start, hk.old_len, hk.new_start, hk.new_len
                );
                let style = theme.style(Slot::DiffHunkHeader);
                buf.set_style(Rect::new(inner.x, y, inner.width, 1), style);
                buf.set_stringn(inner.x, y, text, inner.width as usize, style);
            }
            Row::Line(h, l) => {
                let line = &hunks[*h].lines[*l];
                let mut spans = vec![
                    number(line.old_no, width, theme),
                    number(line.new_no, width, theme),
                ];
                ctx.push_text(
                    &mut spans,
                    line,
                    unified_side(line.kind),
                    inner.width as usize,
                );
                buf.set_line(inner.x, y, &Line::from(spans), inner.width);
            }
            Row::Pair(left, right) => {
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
                    let line = &hunks[*h].lines[*l];
                    let no = match side {
                        TextSide::Old => line.old_no,
                        TextSide::New => line.new_no,
                    };
                    let mut spans = vec![number(no, width, theme)];
                    ctx.push_text(&mut spans, line, side, w as usize);
                    buf.set_line(x, y, &Line::from(spans), w);
                }
                if half < inner.width {
                    buf.set_stringn(inner.x + half, y, "│", 1, theme.style(Slot::Border));
                }
            }
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

struct LineCtx<'a> {
    theme: &'a Theme,
    highlights: &'a Highlights,
    file: usize,
}

impl LineCtx<'_> {
    /// The sign and the text of `line`, styled: its kind's slot, the syntax colours of
    /// `side` when they have arrived, and the word spans on top.
    fn push_text(
        &self,
        spans: &mut Vec<TextSpan<'static>>,
        line: &DiffLine,
        side: TextSide,
        max_cols: usize,
    ) {
        let (slot, word_slot, sign) = match line.kind {
            LineKind::Added => (Slot::DiffAdd, Slot::DiffAddWord, "+"),
            LineKind::Removed => (Slot::DiffDelete, Slot::DiffDeleteWord, "-"),
            LineKind::Context => (Slot::DiffContext, Slot::DiffContext, " "),
        };
        let base = self.theme.style(slot);
        spans.push(TextSpan::styled(sign, base));
        let no = match side {
            TextSide::Old => line.old_no,
            TextSide::New => line.new_no,
        };
        let syntax = no.and_then(|n| self.highlights.get(self.file, side, n));
        let used = spans.iter().map(|s| s.content.len()).sum::<usize>();
        let cols = max_cols.saturating_sub(used);
        styled_text(
            &line.text,
            &line.words,
            syntax,
            base,
            self.theme.style(word_slot),
            cols,
            spans,
        );
    }
}

/// Splits `text` into spans of equal style, up to `cols` columns: tabs become spaces to the
/// next multiple of four and control characters a visible stand-in, so the screen never
/// receives a raw control sequence.
fn styled_text(
    text: &str,
    words: &[WordSpan],
    syntax: Option<&[StyledRange]>,
    base: Style,
    word: Style,
    cols: usize,
    out: &mut Vec<TextSpan<'static>>,
) {
    let mut col = 0usize;
    let mut current = String::new();
    let mut current_style = base;
    let (mut si, mut wi) = (0usize, 0usize);
    for (at, c) in text.char_indices() {
        if col >= cols {
            break;
        }
        let at = at as u32;
        let mut style = base;
        if let Some(ranges) = syntax {
            while si < ranges.len() && ranges[si].end <= at {
                si += 1;
            }
            if let Some(r) = ranges.get(si) {
                if r.start <= at {
                    style = style.patch(r.style);
                }
            }
        }
        while wi < words.len() && words[wi].end <= at {
            wi += 1;
        }
        if words.get(wi).is_some_and(|w| w.start <= at) {
            style = style.patch(word);
        }
        if style != current_style && !current.is_empty() {
            out.push(TextSpan::styled(
                std::mem::take(&mut current),
                current_style,
            ));
        }
        current_style = style;
        match c {
            '\t' => {
                let n = 4 - col % 4;
                current.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c if c.is_control() => {
                current.push('�');
                col += 1;
            }
            c => {
                current.push(c);
                col += 1;
            }
        }
    }
    if !current.is_empty() {
        out.push(TextSpan::styled(current, current_style));
    }
}

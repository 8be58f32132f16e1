//! One diff line's text as styled spans: the sign, then a window of the text's columns. Added
//! and removed lines keep their syntax colours over a tinted background (as delta does), the
//! changed words of a line pair over a stronger tint, search matches on top; tabs expanded
//! and control characters replaced; a dim `‹`/`›` where the window cuts the line.

use ratatui::style::Style;
use ratatui::text::Span as TextSpan;

use super::search::Find;
use crate::protocol::diff::{DiffLine, LineKind, Span as WordSpan};
use crate::tui::highlight::{Highlights, StyledRange, TextSide};
use crate::tui::theme::{Slot, Theme};

/// The marks where a cut line goes on to the left and to the right.
pub const CUT_LEFT: char = '‹';
pub const CUT_RIGHT: char = '›';

pub(super) struct LineCtx<'a> {
    pub(super) theme: &'a Theme,
    pub(super) highlights: &'a Highlights,
    pub(super) file: usize,
    pub(super) find: &'a Find,
}

/// Which columns of a line's text to show: from `skip`, `cols` of them; `marks`: show where
/// the line is cut (not when wrapping, where the next row goes on).
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) skip: usize,
    pub(super) cols: usize,
    pub(super) marks: bool,
}

/// The styles of a line's kind: the base (its colour over its tint) and the changed words'.
struct Kind {
    base: Style,
    word: Style,
    tinted: bool,
}

impl LineCtx<'_> {
    fn kind(&self, kind: LineKind) -> (Kind, &'static str) {
        let t = self.theme;
        let (fg, bg, word, sign) = match kind {
            LineKind::Added => (Slot::DiffAdd, Slot::DiffAddBg, Slot::DiffAddWordBg, "+"),
            LineKind::Removed => (
                Slot::DiffDelete,
                Slot::DiffDeleteBg,
                Slot::DiffDeleteWordBg,
                "-",
            ),
            LineKind::Context => (Slot::DiffContext, Slot::DiffContext, Slot::DiffContext, " "),
        };
        let tinted = kind != LineKind::Context;
        let tint = if tinted {
            Style::default().bg(t.style(bg).bg.unwrap_or_default())
        } else {
            Style::default()
        };
        let word = match t.style(word).bg {
            Some(c) if tinted => Style::default().bg(c),
            _ => Style::default(),
        };
        (
            Kind {
                base: t.style(fg).patch(tint),
                word,
                tinted,
            },
            sign,
        )
    }

    /// The sign and the window `win` of the text of line (`hunk`, `line`) = `line`, styled:
    /// its kind's colour and tint, the syntax colours of `side` when they have arrived, the
    /// changed words and the search's matches on top. `first`: this row starts the line (a
    /// wrapped line's next rows show no sign).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push_text(
        &self,
        spans: &mut Vec<TextSpan<'static>>,
        at: (usize, usize),
        line: &DiffLine,
        side: TextSide,
        win: Window,
        first: bool,
    ) {
        let (kind, sign) = self.kind(line.kind);
        spans.push(TextSpan::styled(if first { sign } else { " " }, kind.base));
        let no = match side {
            TextSide::Old => line.old_no,
            TextSide::New => line.new_no,
        };
        let syntax = no.and_then(|n| self.highlights.get(self.file, side, n));
        let matches = self.find.in_line(at.0, at.1, &line.text);
        let marks = Marks {
            matched: self.theme.style(Slot::SearchMatch),
            current: self.theme.style(Slot::SearchCurrent),
            cut: self
                .theme
                .style(Slot::Dim)
                .bg(kind.base.bg.unwrap_or_default()),
        };
        let cells = cells(
            &line.text,
            &line.words,
            syntax,
            &matches,
            &kind,
            &marks,
            win,
        );
        push_cells(cells, spans);
    }
}

/// The styles of the search's matches and of the cut marks.
struct Marks {
    matched: Style,
    current: Style,
    cut: Style,
}

/// The columns a line's text takes (tabs to the next multiple of four, one per character).
pub(super) fn display_width(text: &str) -> usize {
    col_of(text, text.len() as u32)
}

/// The column at which byte `byte` of `text` is shown.
pub(super) fn col_of(text: &str, byte: u32) -> usize {
    let mut col = 0usize;
    for (at, c) in text.char_indices() {
        if at as u32 >= byte {
            break;
        }
        col += if c == '\t' { 4 - col % 4 } else { 1 };
    }
    col
}

/// The style at byte `at`: the base, the syntax range over it, the changed word's tint.
struct Styler<'a> {
    syntax: Option<&'a [StyledRange]>,
    words: &'a [WordSpan],
    si: usize,
    wi: usize,
}

impl Styler<'_> {
    fn at(&mut self, at: u32, kind: &Kind) -> Style {
        let mut style = kind.base;
        if let Some(ranges) = self.syntax {
            while self.si < ranges.len() && ranges[self.si].end <= at {
                self.si += 1;
            }
            if let Some(r) = ranges.get(self.si) {
                if r.start <= at {
                    // The syntax colour, over the line's tint.
                    style = style.patch(Style {
                        bg: None,
                        ..r.style
                    });
                }
            }
        }
        while self.wi < self.words.len() && self.words[self.wi].end <= at {
            self.wi += 1;
        }
        if self.words.get(self.wi).is_some_and(|w| w.start <= at) {
            style = style.patch(kind.word);
        }
        style
    }
}

/// The visible cells of a line's text in the window, each a character and its style: tabs
/// become spaces, control characters a visible stand-in (the screen never receives a raw
/// control sequence); a tinted line is padded to the window's end.
fn cells(
    text: &str,
    words: &[WordSpan],
    syntax: Option<&[StyledRange]>,
    matches: &[(u32, u32, bool)],
    kind: &Kind,
    marks: &Marks,
    win: Window,
) -> Vec<(char, Style)> {
    let mut out: Vec<(char, Style)> = Vec::with_capacity(win.cols);
    let end = win.skip + win.cols;
    let mut styler = Styler {
        syntax,
        words,
        si: 0,
        wi: 0,
    };
    let mut mi = 0usize;
    let mut col = 0usize;
    let mut cut_right = false;
    for (at, c) in text.char_indices() {
        if col >= end {
            cut_right = true;
            break;
        }
        let (shown, width) = match c {
            '\t' => (' ', 4 - col % 4),
            c if c.is_control() => ('�', 1),
            c => (c, 1),
        };
        if col + width <= win.skip {
            col += width;
            continue;
        }
        let at = at as u32;
        let mut style = styler.at(at, kind);
        while mi < matches.len() && matches[mi].1 <= at {
            mi += 1;
        }
        if let Some(&(start, _, current)) = matches.get(mi) {
            if start <= at {
                style = style.patch(if current {
                    marks.current
                } else {
                    marks.matched
                });
            }
        }
        for k in 0..width {
            let c_col = col + k;
            if c_col >= win.skip && c_col < end {
                out.push((shown, style));
            }
        }
        col += width;
    }
    if win.marks && win.cols >= 2 {
        if win.skip > 0 && col > 0 {
            match out.first_mut() {
                Some(first) => *first = (CUT_LEFT, marks.cut),
                None => out.push((CUT_LEFT, marks.cut)),
            }
        }
        if cut_right {
            if let Some(last) = out.last_mut() {
                *last = (CUT_RIGHT, marks.cut);
            }
        }
    }
    if kind.tinted {
        out.resize(win.cols.max(out.len()), (' ', kind.base));
    }
    out
}

/// Joins cells of equal style into spans.
fn push_cells(cells: Vec<(char, Style)>, out: &mut Vec<TextSpan<'static>>) {
    let mut current = String::new();
    let mut current_style = Style::default();
    for (c, style) in cells {
        if style != current_style && !current.is_empty() {
            out.push(TextSpan::styled(
                std::mem::take(&mut current),
                current_style,
            ));
        }
        current_style = style;
        current.push(c);
    }
    if !current.is_empty() {
        out.push(TextSpan::styled(current, current_style));
    }
}

//! One diff line's text as styled spans: the sign, its kind's colour, the syntax colours when
//! they have arrived and the changed words on top; tabs expanded and control characters
//! replaced, cut at the width available.

use ratatui::style::Style;
use ratatui::text::Span as TextSpan;

use crate::protocol::diff::{DiffLine, LineKind, Span as WordSpan};
use crate::tui::highlight::{Highlights, StyledRange, TextSide};
use crate::tui::theme::{Slot, Theme};

pub(super) struct LineCtx<'a> {
    pub(super) theme: &'a Theme,
    pub(super) highlights: &'a Highlights,
    pub(super) file: usize,
}

impl LineCtx<'_> {
    /// The sign and the text of `line`, styled: its kind's slot, the syntax colours of
    /// `side` when they have arrived, and the word spans on top.
    pub(super) fn push_text(
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

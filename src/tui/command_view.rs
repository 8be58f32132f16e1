//! What the command bar shows besides its line: the completion menu above it (the candidates
//! for the word at the cursor, the chosen one highlighted, a bounded number with "+n more")
//! and the answer overlay (a long or many-line answer — `/help`, `/status` — scrolled with
//! j/k, PgUp/PgDn, g/G). Their view state and their drawing; pure.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Widget};

use super::text::{clean, fit};
use super::theme::{Slot, Theme};

/// Candidates shown at once in the completion menu.
pub const MENU_ROWS: usize = 8;

/// The completion menu: the candidates for the word the last `tab` completed and which one is
/// in the text now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompletionMenu {
    /// Where the completed word starts in the line, and where the candidate in it ends (in
    /// characters).
    pub start: usize,
    pub end: usize,
    pub candidates: Vec<String>,
    pub selected: usize,
}

impl CompletionMenu {
    /// The first candidate shown: the window of [`MENU_ROWS`] keeps the selected one in view.
    pub fn first_shown(&self) -> usize {
        (self.selected + 1).saturating_sub(MENU_ROWS)
    }
}

/// A long answer over the screen until `esc`: a title, the text's lines and the first row
/// shown (of the text as wrapped to the overlay's width).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    pub title: String,
    pub lines: Vec<String>,
    pub scroll: usize,
}

impl Answer {
    pub fn new(title: &str, text: &str) -> Answer {
        Answer {
            title: title.to_string(),
            lines: text.trim_end().lines().map(clean).collect(),
            scroll: 0,
        }
    }

    /// Where the overlay goes in `body`, and the text's rows wrapped to its inside.
    pub fn layout(&self, body: Rect) -> (Rect, Vec<String>) {
        let w = body.width.saturating_sub(4).min(110);
        let inner = usize::from(w.saturating_sub(2)).max(1);
        let rows: Vec<String> = self.lines.iter().flat_map(|l| wrap(l, inner)).collect();
        let h = (rows.len() as u16).saturating_add(2).min(body.height);
        let area = Rect {
            x: body.x + (body.width - w) / 2,
            y: body.y + (body.height - h) / 2,
            width: w,
            height: h,
        };
        (area, rows)
    }

    /// The furthest the text can scroll in `body` (its last screenful at the bottom).
    pub fn last_scroll(&self, body: Rect) -> usize {
        let (area, rows) = self.layout(body);
        rows.len()
            .saturating_sub(usize::from(area.height.saturating_sub(2)))
    }
}

/// `line` in rows of at most `width` characters, broken at spaces where it can be (a longer
/// word is cut), continuation rows indented like the line.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    let lead = line.chars().take_while(|c| *c == ' ').count();
    let indent = if lead * 2 > width { 0 } else { lead };
    let pad = " ".repeat(indent);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut len = 0;
    // A fresh row takes its first word without a space before it.
    let mut fresh = true;
    for tok in line.split(' ') {
        let tlen = tok.chars().count();
        let sep = usize::from(!fresh);
        if len + sep + tlen <= width {
            if !fresh {
                row.push(' ');
            }
            row.push_str(tok);
            len += sep + tlen;
            fresh = false;
            continue;
        }
        if tok.is_empty() {
            continue;
        }
        if len > indent {
            rows.push(std::mem::take(&mut row));
            row.push_str(&pad);
            len = indent;
        }
        let mut rest: Vec<char> = tok.chars().collect();
        while len + rest.len() > width {
            let room = width.saturating_sub(len).max(1);
            let head: String = rest.drain(..room.min(rest.len())).collect();
            row.push_str(&head);
            rows.push(std::mem::take(&mut row));
            row.push_str(&pad);
            len = indent;
        }
        len += rest.len();
        row.extend(rest);
        fresh = false;
    }
    if len > indent || rows.is_empty() {
        rows.push(row);
    }
    rows
}

fn frame<'a>(theme: &Theme, title: &'a str, note: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(theme.style(Slot::BorderFocused))
        .title(Line::from(vec![
            Span::styled(format!(" {title} "), theme.style(Slot::Title)),
            Span::styled(format!("{note} "), theme.style(Slot::Dim)),
        ]))
}

/// The answer overlay in `body`.
pub fn render_answer(answer: &Answer, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let (area, rows) = answer.layout(body);
    if area.width < 4 || area.height < 3 {
        return;
    }
    let shown = usize::from(area.height - 2);
    let scroll = answer.scroll.min(rows.len().saturating_sub(shown));
    let note = if rows.len() > shown {
        format!(
            "{}–{} of {} · j/k scroll · esc close",
            scroll + 1,
            (scroll + shown).min(rows.len()),
            rows.len()
        )
    } else {
        "esc close".to_string()
    };
    Clear.render(area, buf);
    let block = frame(theme, &answer.title, note);
    let inner = block.inner(area);
    block.render(area, buf);
    for (i, row) in rows.iter().skip(scroll).take(shown).enumerate() {
        // The first line of a report is its headline.
        let slot = if scroll + i == 0 && answer.title == "Status" {
            Slot::Title
        } else {
            Slot::Text
        };
        Line::from(Span::styled(row.clone(), theme.style(slot))).render(
            Rect {
                y: inner.y + i as u16,
                height: 1,
                ..inner
            },
            buf,
        );
    }
}

/// The completion menu above the command bar (`bar`), its left edge under the word being
/// completed (`column`: where that word starts on screen).
pub fn render_menu(menu: &CompletionMenu, theme: &Theme, bar: Rect, column: u16, buf: &mut Buffer) {
    if menu.candidates.is_empty() || bar.y == 0 {
        return;
    }
    let first = menu.first_shown();
    let shown: Vec<&String> = menu.candidates.iter().skip(first).take(MENU_ROWS).collect();
    let more = menu.candidates.len() - first - shown.len();
    let more_line = (first > 0 || more > 0).then(|| match (first, more) {
        (0, m) => format!("+{m} more"),
        (f, 0) => format!("{f} above"),
        (f, m) => format!("{f} above, +{m} more"),
    });
    let widest = shown
        .iter()
        .map(|c| c.chars().count())
        .chain(more_line.iter().map(|m| m.chars().count()))
        .max()
        .unwrap_or(0);
    let w = (widest as u16 + 4).min(bar.width);
    let rows = shown.len() as u16 + u16::from(more_line.is_some());
    let h = (rows + 2).min(bar.y);
    let x = (bar.x + column.saturating_sub(1)).min(bar.right().saturating_sub(w));
    let area = Rect::new(x, bar.y - h, w, h);
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Slot::BorderFocused));
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width);
    let mut lines: Vec<Line> = shown
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let slot = if first + i == menu.selected {
                Slot::Selection
            } else {
                Slot::Text
            };
            let text = format!(
                " {:<w$}",
                fit(&clean(c), width.saturating_sub(1)),
                w = width - 1
            );
            Line::from(Span::styled(text, theme.style(slot)))
        })
        .collect();
    if let Some(m) = more_line {
        lines.push(Line::from(Span::styled(
            format!(" {}", fit(&m, width.saturating_sub(1))),
            theme.style(Slot::Dim),
        )));
    }
    for (i, line) in lines
        .into_iter()
        .enumerate()
        .take(usize::from(inner.height))
    {
        line.render(
            Rect {
                y: inner.y + i as u16,
                height: 1,
                ..inner
            },
            buf,
        );
    }
}

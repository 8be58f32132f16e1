//! The help overlay (`?`): every key of every context, generated from the keymap, scrolled
//! (j/k, the arrows, pages, g/G, the wheel) and narrowed by a filter typed into it. Its view
//! state, the rows a filter leaves, and its drawing.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget};

use super::text::{clean, fit};
use super::theme::{Slot, Theme};

/// The help: (section, [(keys, what they do)]).
pub type Section = (String, Vec<(String, String)>);

/// The help overlay's view state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpView {
    /// The filter line: `None` until something is typed (or `/`), then the text typed.
    pub filter: Option<String>,
    /// The first row shown.
    pub offset: usize,
    /// How many rows the help had when the last key was handled (what scrolling stops at).
    pub rows: usize,
}

impl HelpView {
    /// Scrolls by `delta` rows, or to the top or the bottom, within `rows` and a page of
    /// `page` rows.
    pub fn scroll(&mut self, delta: isize, to_end: Option<bool>, page: usize) {
        let last = self.rows.saturating_sub(page);
        self.offset = match to_end {
            Some(false) => 0,
            Some(true) => last,
            None => self.offset.min(last).saturating_add_signed(delta).min(last),
        };
    }

    /// A character typed into the filter (which opens it).
    pub fn type_char(&mut self, c: char) {
        self.filter.get_or_insert_with(String::new).push(c);
        self.offset = 0;
    }

    /// Backspace: the filter's last character; on an empty filter, the filter line closes.
    pub fn backspace(&mut self) {
        match &mut self.filter {
            Some(f) if !f.is_empty() => {
                f.pop();
            }
            _ => self.filter = None,
        }
        self.offset = 0;
    }
}

/// One row of the help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row<'a> {
    Section(&'a str),
    Key(&'a str, &'a str),
}

/// The rows `filter` leaves: the keys whose keys, description or section contain it (any
/// case), under their sections; without a filter, everything.
pub fn rows<'a>(help: &'a [Section], filter: Option<&str>) -> Vec<Row<'a>> {
    let needle = filter.unwrap_or("").to_lowercase();
    let mut out = Vec::new();
    for (section, keys) in help {
        let section_matches = section.to_lowercase().contains(&needle);
        let matching: Vec<Row<'a>> = keys
            .iter()
            .filter(|(k, what)| {
                section_matches
                    || k.to_lowercase().contains(&needle)
                    || what.to_lowercase().contains(&needle)
            })
            .map(|(k, what)| Row::Key(k, what))
            .collect();
        if !matching.is_empty() {
            out.push(Row::Section(section));
            out.extend(matching);
        }
    }
    out
}

/// How many keys the rows hold (sections aside).
fn keys_in(rows: &[Row<'_>]) -> usize {
    rows.iter().filter(|r| matches!(r, Row::Key(..))).count()
}

/// Where the help is drawn over `body`.
pub fn area(body: Rect) -> Rect {
    let w = body.width.saturating_sub(4).min(90);
    Rect {
        x: body.x + (body.width - w) / 2,
        width: w,
        ..body
    }
}

/// The rows one screenful of the help shows in a body of `body_height` rows (the frame and
/// the filter line aside).
pub fn page(body_height: u16) -> usize {
    usize::from(body_height.saturating_sub(3)).max(1)
}

/// Draws the help over `body`.
pub fn render(view: &HelpView, help: &[Section], theme: &Theme, body: Rect, buf: &mut Buffer) {
    let r = area(body);
    Clear.render(r, buf);
    let all = rows(help, None);
    let shown = rows(help, view.filter.as_deref());
    let page = page(body.height);
    let offset = view.offset.min(shown.len().saturating_sub(page));
    let last = (offset + page).min(shown.len());
    // Where we are, and how much the filter left.
    let mut note = if shown.is_empty() {
        "0/0".to_string()
    } else {
        format!("{}–{last}/{}", offset + 1, shown.len())
    };
    if view.filter.is_some() {
        note.push_str(&format!(" · {}/{} keys", keys_in(&shown), keys_in(&all)));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(theme.style(Slot::BorderFocused))
        .title(Line::from(vec![
            Span::styled(" Help ", theme.style(Slot::Title)),
            Span::styled(format!("{note} "), theme.style(Slot::Dim)),
        ]));
    let inner = block.inner(r);
    block.render(r, buf);
    let width = usize::from(inner.width);
    // The keys in a column as wide as the longest shown (a space always after it).
    let key_width = shown
        .iter()
        .map(|r| match r {
            Row::Key(k, _) => k.chars().count(),
            Row::Section(_) => 0,
        })
        .max()
        .unwrap_or(0)
        .clamp(12, 24);
    let mut lines: Vec<Line> = shown
        .iter()
        .skip(offset)
        .take(page)
        .map(|row| match row {
            Row::Section(s) => Line::from(Span::styled(clean(s), theme.style(Slot::Title))),
            Row::Key(k, what) => Line::from(vec![
                Span::styled(
                    format!("  {:<key_width$} ", clean(k)),
                    theme.style(Slot::Key),
                ),
                Span::styled(clean(what), theme.style(Slot::Text)),
            ]),
        })
        .collect();
    if shown.is_empty() {
        lines.push(Line::from(Span::styled(
            "no key matches the filter",
            theme.style(Slot::Dim),
        )));
    }
    Paragraph::new(lines).render(
        Rect {
            height: inner.height.saturating_sub(1),
            ..inner
        },
        buf,
    );
    // The filter line at the bottom: what is typed, or how to start.
    let filter_line = match &view.filter {
        Some(f) => Line::from(vec![
            Span::styled("filter: ", theme.style(Slot::Hint)),
            Span::styled(
                fit(&clean(f), width.saturating_sub(40)),
                theme.style(Slot::Text),
            ),
            Span::styled(" ", theme.style(Slot::Selection)),
            Span::styled("  backspace edits · esc clears", theme.style(Slot::Dim)),
        ]),
        None => Line::from(Span::styled(
            fit(
                "type to filter · j/k ↑↓ pgup/pgdn g/G scroll · esc/q/? close",
                width,
            ),
            theme.style(Slot::Dim),
        )),
    };
    if inner.height > 0 {
        filter_line.render(
            Rect {
                y: inner.y + inner.height - 1,
                height: 1,
                ..inner
            },
            buf,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help() -> Vec<Section> {
        vec![
            (
                "Global".into(),
                vec![("q".into(), "quit".into()), ("S".into(), "save".into())],
            ),
            ("Timeline".into(), vec![("R".into(), "roll back".into())]),
        ]
    }

    #[test]
    fn a_filter_keeps_matching_keys_under_their_sections() {
        let h = help();
        assert_eq!(rows(&h, None).len(), 5);
        assert_eq!(
            rows(&h, Some("SAV")),
            vec![Row::Section("Global"), Row::Key("S", "save")]
        );
        // A section's name keeps all its keys.
        assert_eq!(rows(&h, Some("timel")).len(), 2);
        assert!(rows(&h, Some("nothing like it")).is_empty());
    }

    #[test]
    fn scrolling_stops_at_the_last_screenful_and_editing_the_filter_goes_back_to_the_top() {
        let mut v = HelpView {
            rows: 30,
            ..HelpView::default()
        };
        v.scroll(100, None, 10);
        assert_eq!(v.offset, 20);
        v.scroll(-3, None, 10);
        assert_eq!(v.offset, 17);
        v.scroll(0, Some(false), 10);
        assert_eq!(v.offset, 0);
        v.scroll(-1, None, 10);
        assert_eq!(v.offset, 0);
        v.scroll(0, Some(true), 10);
        v.type_char('s');
        assert_eq!((v.filter.as_deref(), v.offset), (Some("s"), 0));
        v.backspace();
        assert_eq!(v.filter.as_deref(), Some(""));
        v.backspace();
        assert_eq!(v.filter, None);
    }
}

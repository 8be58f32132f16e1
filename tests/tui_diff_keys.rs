//! The diff viewer as a user drives it: keys and clicks through the terminal's input path
//! (`tui::run::on_terminal`), each step drawn with `tui::run::draw_frame` on `TestBackend` —
//! the add/delete tint under syntax colours (cell backgrounds), sideways scrolling with cut
//! marks and wrapping, the incremental search with n/N, esc leaving the diff, clicking and
//! filtering the file list, a burst of keys drawn once, and the highlighter's bounded work.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::Terminal;

use overlord::protocol::State;
use overlord::tui::app::App;
use overlord::tui::diff_view::{render, DiffView, FileTexts, LOOK_AHEAD};
use overlord::tui::highlight::{
    HighlightRequest, Highlighter, Highlights, TextSide, MAX_CATCH_UP, SYNC_BACK,
};
use overlord::tui::keymap::Keymap;
use overlord::tui::run::{drain_terminal, draw_frame, on_terminal, Look};
use overlord::tui::screen::Pane;
use overlord::tui::theme::{Slot, Theme};

use crate::common::generate::{scattered_edits, source};

/// The console without a terminal, showing `view` in the diff pane.
struct Console {
    app: App,
    keymap: Keymap,
    theme: Theme,
    terminal: Terminal<TestBackend>,
}

impl Console {
    fn new(view: DiffView, w: u16, h: u16) -> Console {
        let mut app = App::new(State::default());
        app.screen.diff.view = Some(view);
        let mut c = Console {
            app,
            keymap: Keymap::defaults().0,
            theme: Theme::dark(),
            terminal: Terminal::new(TestBackend::new(w, h)).unwrap(),
        };
        c.draw();
        c.keys("7");
        c
    }

    fn send(&mut self, ev: TermEvent) {
        let size = self.app.screen.size;
        let _ = on_terminal(&mut self.app, &self.keymap, size, Some(ev));
        self.draw();
    }

    fn key(&mut self, code: KeyCode) {
        self.send(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Each character as a key press.
    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn click(&mut self, x: u16, y: u16) {
        self.send(TermEvent::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        }));
    }

    fn draw(&mut self) {
        let look = Look {
            theme: &self.theme,
            keymap: &self.keymap,
            stall_secs: 120,
        };
        let now = time::macros::datetime!(2026-11-21 10:00 UTC);
        let app = &self.app;
        let frame = self
            .terminal
            .draw(|f| draw_frame(app, &look, &[], now, f.area(), f.buffer_mut()))
            .unwrap();
        self.app.screen.size = frame.area;
    }

    fn buf(&self) -> &Buffer {
        self.terminal.backend().buffer()
    }

    fn text(&self) -> String {
        text(self.buf())
    }

    fn view(&self) -> &DiffView {
        self.app.screen.diff.view.as_ref().unwrap()
    }
}

fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut out = String::new();
    for y in a.top()..a.bottom() {
        for x in a.left()..a.right() {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The row (as text) holding `needle`, and its position.
fn row_with(buf: &Buffer, needle: &str) -> (String, u16, u16) {
    for (y, row) in text(buf).lines().enumerate() {
        if let Some(byte) = row.find(needle) {
            return (
                row.to_string(),
                row[..byte].chars().count() as u16,
                y as u16,
            );
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

fn long_line_view() -> DiffView {
    let long: String = (0..40).map(|i| format!("w{i:02} ")).collect();
    let old = format!("fn a() {{}}\nlet s = \"{long}\";\nfn b() {{}}\n");
    let new = format!("fn a() {{}}\nlet t = \"{long}END\";\nfn b() {{}}\n");
    DiffView::from_texts("src/long.rs", &old, &new)
}

#[test]
fn added_and_removed_lines_are_tinted_under_their_syntax_colours() {
    let old = "# Cart\n\n- apples\n- red pears\n";
    let new = "# Cart\n\n- apples\n- ripe pears\n- item\n";
    let view = DiffView::from_texts("README.md", old, new);
    let theme = Theme::dark();
    let area = Rect::new(0, 0, 100, 20);
    let mut have = Highlights::default();
    let mut hl = Highlighter::spawn(&theme.syntax).unwrap();
    let generation = hl.latest() + 1;
    let requests = view.highlight_requests(generation, area, &have);
    let n = requests.len();
    for r in requests {
        hl.request(r);
    }
    for _ in 0..n {
        have.insert(hl.next_timeout(Duration::from_secs(20)).expect("colours"));
    }
    let mut term = Terminal::new(TestBackend::new(100, 20)).unwrap();
    term.draw(|f| render(&view, &have, &theme, f.area(), f.buffer_mut()))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let add_bg = theme.style(Slot::DiffAddBg).bg.unwrap();
    let del_bg = theme.style(Slot::DiffDeleteBg).bg.unwrap();
    let add_word = theme.style(Slot::DiffAddWordBg).bg.unwrap();
    // The added list line: the sign in the add colour, every cell to the pane's edge on the
    // add tint, the text in its syntax colours — nothing of a deletion.
    let (row, x, y) = row_with(&buf, "+- item");
    assert_eq!(buf[(x, y)].fg, theme.style(Slot::DiffAdd).fg.unwrap());
    let right = row.trim_end_matches(' ').chars().count() as u16;
    let edge = 99 - 1; // the pane's right border
    for cx in x..edge {
        assert_eq!(buf[(cx, y)].bg, add_bg, "cell {cx} of {row:?}");
        assert_ne!(buf[(cx, y)].fg, theme.style(Slot::DiffDelete).fg.unwrap());
    }
    assert!(right > x + 6);
    let dash = buf[(x + 1, y)].fg;
    assert_ne!(dash, Color::Reset, "the list marker has a syntax colour");
    assert_ne!(
        dash,
        theme.style(Slot::DiffAdd).fg.unwrap(),
        "syntax, not plain"
    );
    // The removed line of the changed pair: the delete tint; its changed word a stronger one.
    let (_, x, y) = row_with(&buf, "-- red pears");
    assert_eq!(
        buf[(x + 3, y)].bg,
        theme.style(Slot::DiffDeleteWordBg).bg.unwrap()
    );
    assert_eq!(buf[(x, y)].bg, del_bg);
    assert_eq!(buf[(x + 8, y)].bg, del_bg, "an unchanged word");
    let (_, x, y) = row_with(&buf, "+- ripe pears");
    assert_eq!(buf[(x + 3, y)].bg, add_word, "the changed word");
    assert_eq!(buf[(x + 1, y)].bg, add_bg, "the unchanged marker");
    assert_ne!(
        buf[(x + 3, y)].fg,
        Color::Black,
        "the word keeps its text colour"
    );
    // A context line is not tinted.
    let (_, x, y) = row_with(&buf, " - apples");
    assert_eq!(buf[(x + 3, y)].bg, Color::Reset);
}

#[test]
fn long_lines_scroll_sideways_with_cut_marks_and_wrap() {
    let mut c = Console::new(long_line_view(), 100, 24);
    let (row, _, _) = row_with(c.buf(), "+let t");
    assert!(row.contains("w00"), "{row}");
    assert!(
        row.contains('›'),
        "a cut line is marked on the right: {row}"
    );
    assert!(!row.contains('‹'), "{row}");
    insta::assert_snapshot!("diff_keys_cut", c.text());
    // l: 8 columns on, marked on both sides; the mode line says where.
    c.keys("l");
    assert_eq!(c.view().hscroll(), 8);
    let (row, _, _) = row_with(c.buf(), "+‹");
    assert!(!row.contains("let t"), "{row}");
    assert!(row.contains('›'), "{row}");
    assert!(c.text().contains("col 9"), "{}", c.text());
    // → to the end: the line's end shows and the right mark goes.
    for _ in 0..40 {
        c.key(KeyCode::Right);
    }
    let (row, _, _) = row_with(c.buf(), "END");
    assert!(!row.contains('›'), "{row}");
    assert!(row.contains('‹'), "{row}");
    insta::assert_snapshot!("diff_keys_scrolled_to_end", c.text());
    // h and ←: back by 8; 0: to the start.
    let at = c.view().hscroll();
    c.keys("h");
    assert_eq!(c.view().hscroll(), at - 8);
    c.key(KeyCode::Left);
    assert_eq!(c.view().hscroll(), at - 16);
    c.keys("0");
    assert_eq!(c.view().hscroll(), 0);
    // Side by side, the same.
    c.keys("v");
    let (row, _, _) = row_with(c.buf(), "-let s");
    assert!(row.matches('›').count() >= 2, "both halves cut: {row}");
    c.keys("l");
    let (row, _, _) = row_with(c.buf(), "-‹");
    assert!(row.matches('‹').count() >= 2, "{row}");
    insta::assert_snapshot!("diff_keys_side_by_side_scrolled", c.text());
    // w: wrapped instead, unmarked, the rest on the next row.
    c.keys("vw");
    assert!(c.view().wraps());
    let t = c.text();
    assert!(!t.contains('›') && !t.contains('‹'), "{t}");
    let (_, _, y) = row_with(c.buf(), "+let t");
    let next = t.lines().nth(y as usize + 1).unwrap();
    assert!(next.contains(" w1"), "the wrapped rest:\n{t}");
    assert!(t.contains("END\";"), "{t}");
    insta::assert_snapshot!("diff_keys_wrapped", t);
    c.keys("w");
    assert!(!c.view().wraps());
}

fn searchable_view() -> DiffView {
    let old: String = (0..200).map(|i| format!("line {i}\n")).collect();
    let new: String = (0..200)
        .map(|i| {
            if i % 20 == 5 {
                format!("line {i} needle\n")
            } else {
                format!("line {i}\n")
            }
        })
        .collect();
    DiffView::from_texts("src/hay.txt", &old, &new)
}

#[test]
fn search_is_incremental_highlighted_and_n_wraps_around() {
    let mut c = Console::new(searchable_view(), 100, 24);
    let theme = Theme::dark();
    let matched = theme.style(Slot::SearchMatch).bg.unwrap();
    let current = theme.style(Slot::SearchCurrent).bg.unwrap();
    // `/` searches in the diff (it does not open the command bar).
    c.keys("/");
    assert!(c.app.screen.command.is_none());
    assert!(c.text().contains("/▏"), "{}", c.text());
    c.keys("need");
    // Incremental: matches found as typed, the first one current and coloured.
    assert_eq!(c.view().matches().len(), 10);
    assert!(c.text().contains("/need▏ match 1/10"), "{}", c.text());
    let (_, x, y) = row_with(c.buf(), "5 need");
    assert_eq!(c.buf()[(x + 2, y)].bg, current);
    let (_, x, y) = row_with(c.buf(), "25 need");
    assert_eq!(c.buf()[(x + 3, y)].bg, matched);
    insta::assert_snapshot!("diff_keys_searching", c.text());
    // Enter keeps it: n/N move through the matches, wrapping around.
    c.key(KeyCode::Enter);
    assert!(c.text().contains("match 1/10 · n/N"), "{}", c.text());
    c.keys("n");
    assert!(c.text().contains("match 2/10"), "{}", c.text());
    let (_, x, y) = row_with(c.buf(), "25 need");
    assert_eq!(c.buf()[(x + 3, y)].bg, current);
    c.keys("NN");
    assert!(c.text().contains("match 10/10"), "{}", c.text());
    assert!(
        c.text().contains("185 needle"),
        "the last match is brought into view"
    );
    c.keys("n");
    assert!(c.text().contains("match 1/10"), "{}", c.text());
    // No match says so.
    c.keys("/zzz");
    assert!(c.text().contains("no match for zzz"), "{}", c.text());
    // Esc cancels: back where the search started, nothing highlighted, the diff still shown.
    let before = c.view().scroll();
    c.key(KeyCode::Esc);
    assert_eq!(c.view().query(), "");
    assert_eq!(c.view().scroll(), before);
    assert_eq!(c.app.screen.focus, Pane::Diff);
    assert!(!c.text().contains("match"), "{}", c.text());
}

#[test]
fn esc_leaves_the_diff_for_the_pane_it_came_from() {
    let mut c = Console::new(searchable_view(), 100, 24);
    c.keys("5");
    assert_eq!(c.app.screen.focus, Pane::Timeline);
    c.keys("7");
    assert_eq!(c.app.screen.focus, Pane::Diff);
    // A kept search is cleared first, then esc leaves.
    c.keys("/needle");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Esc);
    assert_eq!(c.app.screen.focus, Pane::Diff);
    assert_eq!(c.view().query(), "");
    c.key(KeyCode::Esc);
    assert_eq!(c.app.screen.focus, Pane::Timeline);
}

fn many_files() -> DiffView {
    let paths = [
        "src/main.rs",
        "src/tui/render.rs",
        "docs/guide.md",
        "src/tui/theme.rs",
        "tests/render.rs",
    ];
    let mut set = DiffView::from_texts(paths[0], "a\n", "b\n").set().clone();
    let mut texts = vec![Some(FileTexts::from_texts("a\n", "b\n"))];
    for p in &paths[1..] {
        let v = DiffView::from_texts(p, "a\n", "b\n");
        set.files.extend(v.set().files.iter().cloned());
        texts.push(Some(FileTexts::from_texts("a\n", "b\n")));
    }
    DiffView::new(set, texts)
}

#[test]
fn a_click_selects_a_file_and_the_list_filters() {
    let mut c = Console::new(many_files(), 100, 24);
    assert_eq!(c.view().selected(), 0);
    // Click the row of docs/guide.md in the file list.
    let (_, x, y) = row_with(c.buf(), "docs/guide.md");
    c.click(x + 2, y);
    assert_eq!(c.view().selected(), 2);
    assert!(c.text().contains(" docs/guide.md +1 -1"), "{}", c.text());
    // A click elsewhere in the list (below the files) selects nothing new.
    c.click(x + 2, y + 10);
    assert_eq!(c.view().selected(), 2);
    // f filters as typed (substring or letters in order); the selection follows.
    c.keys("frender");
    assert_eq!(c.view().shown_files(), &[1, 4]);
    assert_eq!(c.view().selected(), 1);
    let t = c.text();
    assert!(
        t.contains("Files 2/5") && t.contains("filter: render▏"),
        "{t}"
    );
    assert!(!t.contains("docs/guide.md"), "{t}");
    insta::assert_snapshot!("diff_keys_filtered", t);
    // Enter keeps the filter; j moves within it; clicking picks from the filtered rows.
    c.key(KeyCode::Enter);
    c.keys("j");
    assert_eq!(c.view().selected(), 4);
    let (_, x, y) = row_with(c.buf(), "Files 2/5");
    c.click(x, y + 1);
    assert_eq!(c.view().selected(), 1);
    // Esc clears the filter (and a second esc leaves the diff).
    c.key(KeyCode::Esc);
    assert_eq!(c.view().filter(), "");
    assert_eq!(c.view().shown_files().len(), 5);
    assert_eq!(c.app.screen.focus, Pane::Diff);
    // While filtering, esc drops the filter typed.
    c.keys("fxyz");
    assert!(c.text().contains("no file matches"), "{}", c.text());
    c.key(KeyCode::Esc);
    assert_eq!(c.view().shown_files().len(), 5);
}

/// The 100,000-line file with ~2,000 changed lines of the issue.
fn big_view() -> DiffView {
    let old = source(100_000, 11);
    let new = scattered_edits(&old, 12);
    DiffView::from_texts("src/big.rs", &old, &new)
}

#[test]
fn a_burst_of_keys_is_handled_before_one_frame() {
    let mut c = Console::new(big_view(), 100, 30);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..100 {
        tx.send(TermEvent::Key(KeyEvent::new(
            KeyCode::Char('j'),
            KeyModifiers::NONE,
        )))
        .unwrap();
    }
    c.app.dirty = false;
    let size = c.app.screen.size;
    let _ = drain_terminal(&mut c.app, &c.keymap, size, &mut rx);
    // All hundred handled at once, to be drawn in one frame.
    assert_eq!(c.view().scroll(), 100);
    assert!(c.app.dirty);
    assert!(rx.try_recv().is_err());
}

#[test]
fn opening_a_long_diff_highlights_only_the_screen_and_a_look_ahead() {
    let view = big_view();
    let area = Rect::new(0, 0, 100, 40);
    let mut hl = Highlighter::spawn("base16-ocean.dark").unwrap();
    let mut have = Highlights::default();
    let requests = view.highlight_requests(1, area, &have);
    let n = requests.len();
    // The highest line asked for, per side: the screen and LOOK_AHEAD screens below it.
    let last = |side| {
        requests
            .iter()
            .filter(|r| r.side == side)
            .flat_map(|r| r.lines.iter().copied())
            .max()
            .unwrap_or(0) as u64
    };
    let bound = last(TextSide::Old) + last(TextSide::New);
    for r in requests {
        hl.request(r);
    }
    for _ in 0..n {
        have.insert(hl.next_timeout(Duration::from_secs(60)).expect("colours"));
    }
    // A marker after everything asked: once it is answered, the worker has done all it will.
    let text = Arc::new(vec!["x".to_string()]);
    hl.request(HighlightRequest {
        generation: 2,
        file: 99,
        side: TextSide::New,
        path: "x.rs".into(),
        text,
        lines: vec![1],
    });
    assert!(hl.next_timeout(Duration::from_secs(20)).is_some());
    let parsed = hl.parsed_total() - 1;
    let page = 40 - 2 - 2;
    assert!(
        bound > 0 && bound < 4 * (LOOK_AHEAD as u64 + 1) * page * 60,
        "{bound}"
    );
    assert!(
        parsed <= bound,
        "{parsed} lines parsed for lines up to {bound}"
    );
    // Far from the 200,000 lines of both sides that highlighting the whole file took.
    assert!(parsed < 10_000, "{parsed}");
    // Idle, it does nothing more (the old worker read the whole file ahead).
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(hl.parsed_total() - 1, parsed);
    // A jump far down starts near there, not from the top.
    let lines: Vec<u32> = (90_000..90_040).collect();
    let text = view
        .highlight_requests(3, area, &Highlights::default())
        .into_iter()
        .find(|r| r.side == TextSide::New)
        .expect("the new text")
        .text;
    hl.request(HighlightRequest {
        generation: 3,
        file: 0,
        side: TextSide::New,
        path: "src/big.rs".into(),
        text,
        lines,
    });
    let r = hl.next_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(r.lines.len(), 40);
    assert!(
        r.parsed <= (SYNC_BACK + 128 + 40) as u64 && MAX_CATCH_UP < 90_000,
        "{}",
        r.parsed
    );
}

//! The diff viewer: snapshots of a real diff at 80×24 and 120×40, unified and side by side,
//! with the styles of added lines, changed words and syntax colours; the keys; small and
//! hostile inputs; the highlighter's generations and checkpoints; loading from a real
//! repository.

use std::sync::Arc;
use std::time::Duration;

use overlord::core::diff;
use overlord::protocol::diff::{FileContent, FileDiff, FileStatus, LineKind};
use overlord::tui::diff_view::{render, DiffView, FileTexts, Focus, Layout};
use overlord::tui::highlight::{
    HighlightRequest, Highlighter, Highlights, TextSide, CHECKPOINT_EVERY, MAX_CATCH_UP, SYNC_BACK,
};
use overlord::tui::theme::{Slot, Theme};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::Terminal;

use crate::common::generate::source;
use crate::common::*;

const OLD_RS: &str = "\
use std::collections::HashMap;

/// A shopping cart.
pub struct Cart {
    items: HashMap<String, u32>,
}

impl Cart {
    pub fn new() -> Cart {
        Cart { items: HashMap::new() }
    }

    pub fn add(&mut self, name: &str, quantity: u32) {
        *self.items.entry(name.to_string()).or_insert(0) += quantity;
    }

    pub fn remove(&mut self, name: &str) {
        self.items.remove(name);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn total(&self) -> u32 {
        self.items.values().sum()
    }
}
";

const NEW_RS: &str = "\
use std::collections::HashMap;

/// A shopping cart.
pub struct Cart {
    items: HashMap<String, u32>,
}

impl Cart {
    pub fn new() -> Cart {
        Cart { items: HashMap::new() }
    }

    pub fn add(&mut self, name: &str, count: u32) {
        *self.items.entry(name.to_string()).or_insert(0) += count;
    }

    pub fn remove(&mut self, name: &str) {
        self.items.remove(name);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.items.values().map(|&n| u64::from(n)).sum()
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }
}
";

const OLD_MD: &str = "# Cart\n\nA cart of items.\n";
const NEW_MD: &str = "# Cart\n\nA cart of items, with counts.\n\nSee `Cart::add`.\n";

/// Two real files diffed by the real model.
fn two_files() -> DiffView {
    let rs = DiffView::from_texts("src/cart.rs", OLD_RS, NEW_RS);
    let md = DiffView::from_texts("README.md", OLD_MD, NEW_MD);
    let mut set = rs.set().clone();
    set.files.extend(md.set().files.iter().cloned());
    DiffView::new(
        set,
        vec![
            Some(FileTexts::from_texts(OLD_RS, NEW_RS)),
            Some(FileTexts::from_texts(OLD_MD, NEW_MD)),
        ],
    )
}

fn draw(view: &DiffView, hl: &Highlights, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::dark();
    term.draw(|f| render(view, hl, &theme, f.area(), f.buffer_mut()))
        .unwrap();
    term.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut out = String::new();
    for y in a.top()..a.bottom() {
        let mut line = String::new();
        for x in a.left()..a.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The position of the first occurrence of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for (y, row) in text(buf).lines().enumerate() {
        if let Some(byte) = row.find(needle) {
            return (row[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

/// A cell's colours and modifiers, as a style comparable with [`slot`]'s.
fn style_at(buf: &Buffer, (x, y): (u16, u16)) -> Style {
    let c = &buf[(x, y)];
    Style::new().fg(c.fg).bg(c.bg).add_modifier(c.modifier)
}

/// What a cell drawn with `style` over an empty buffer holds.
fn drawn(style: Style) -> Style {
    Style::new()
        .fg(style.fg.unwrap_or(Color::Reset))
        .bg(style.bg.unwrap_or(Color::Reset))
        .add_modifier(style.add_modifier)
}

fn slot(theme: &Theme, slots: &[Slot]) -> Style {
    drawn(
        slots
            .iter()
            .fold(Style::new(), |s, &slot| s.patch(theme.style(slot))),
    )
}

/// Asks for what is on screen and waits for every answer.
fn highlight_screen(view: &DiffView, hl: &mut Highlighter, have: &mut Highlights, area: Rect) {
    let generation = hl.latest() + 1;
    let requests = view.highlight_requests(generation, area, have);
    assert!(!requests.is_empty(), "nothing to highlight on screen");
    let n = requests.len();
    for r in requests {
        hl.request(r);
    }
    for _ in 0..n {
        let r = hl
            .next_timeout(Duration::from_secs(20))
            .expect("a highlight result");
        assert_eq!(r.generation, generation);
        have.insert(r);
    }
}

#[test]
fn unified_snapshots_with_styles() {
    let view = two_files();
    let none = Highlights::default();
    let theme = Theme::dark();
    for (w, h) in [(80, 24), (120, 40)] {
        let buf = draw(&view, &none, w, h);
        insta::assert_snapshot!(format!("unified_{w}x{h}"), text(&buf));
        // An added line: its sign and its unchanged text have DiffAdd's colour over the add tint.
        let at = find(&buf, "+        self.items.values().map");
        assert_eq!(
            style_at(&buf, at),
            slot(&theme, &[Slot::DiffAdd, Slot::DiffAddBg])
        );
        assert_eq!(
            style_at(&buf, (at.0 + 9, at.1)),
            slot(&theme, &[Slot::DiffAdd, Slot::DiffAddBg])
        );
        // A changed word of a changed pair: the stronger tint over the line's.
        let at = find(&buf, "count: u32");
        assert_eq!(
            style_at(&buf, at),
            slot(
                &theme,
                &[Slot::DiffAdd, Slot::DiffAddBg, Slot::DiffAddWordBg]
            )
        );
        let at = find(&buf, "quantity: u3");
        assert_eq!(
            style_at(&buf, at),
            slot(
                &theme,
                &[Slot::DiffDelete, Slot::DiffDeleteBg, Slot::DiffDeleteWordBg]
            )
        );
        // The unchanged part of the same line is plain DiffAdd.
        let at = find(&buf, "+    pub fn add(");
        assert_eq!(
            style_at(&buf, (at.0 + 5, at.1)),
            slot(&theme, &[Slot::DiffAdd, Slot::DiffAddBg])
        );
        // Context is DiffContext, hunk headers DiffHunkHeader.
        let at = find(&buf, "Cart { items");
        assert_eq!(style_at(&buf, at), slot(&theme, &[Slot::DiffContext]));
        let at = find(&buf, "@@ -10,");
        assert_eq!(style_at(&buf, at), slot(&theme, &[Slot::DiffHunkHeader]));
    }
}

#[test]
fn side_by_side_snapshots_pair_old_and_new() {
    let mut view = two_files();
    assert!(view.toggle_layout());
    assert_eq!(view.layout(), Layout::SideBySide);
    let none = Highlights::default();
    let theme = Theme::dark();
    for (w, h) in [(80, 24), (120, 40)] {
        let buf = draw(&view, &none, w, h);
        insta::assert_snapshot!(format!("side_by_side_{w}x{h}"), text(&buf));
        // The changed pair faces itself on one row: old left, new right.
        let old = find(&buf, "13 -    pub fn add(");
        let row = text(&buf).lines().nth(old.1 as usize).unwrap().to_string();
        let new = row
            .find("13 +    pub fn add(")
            .expect("the new line beside the old");
        assert!(old.0 < row[..new].chars().count() as u16);
        if w >= 120 {
            let old = find(&buf, "u32 {");
            let new = find(&buf, "u64 {");
            assert_eq!(old.1, new.1, "a changed pair shares its row");
            assert_eq!(
                style_at(&buf, new),
                slot(
                    &theme,
                    &[Slot::DiffAdd, Slot::DiffAddBg, Slot::DiffAddWordBg]
                )
            );
            assert_eq!(
                style_at(&buf, old),
                slot(
                    &theme,
                    &[Slot::DiffDelete, Slot::DiffDeleteBg, Slot::DiffDeleteWordBg]
                )
            );
        }
        // An added line without a partner: blank on the left.
        let (x, y) = find(&buf, "+        self.items.cle");
        assert!(x > w / 4, "the added line is in the right column");
        assert_eq!(
            style_at(&buf, (x, y)),
            slot(&theme, &[Slot::DiffAdd, Slot::DiffAddBg])
        );
    }
}

#[test]
fn syntax_colours_arrive_over_plain_text() {
    let view = two_files();
    let theme = Theme::dark();
    let area = Rect::new(0, 0, 120, 40);
    let mut have = Highlights::default();
    let plain = draw(&view, &have, 120, 40);
    let mut hl = Highlighter::spawn(&theme.syntax).unwrap();
    highlight_screen(&view, &mut hl, &mut have, area);
    let coloured = draw(&view, &have, 120, 40);
    // The same characters: colour only.
    assert_eq!(text(&plain), text(&coloured));
    // `pub` on a context line: plain DiffContext before, a syntax colour after.
    let at = find(&plain, "pub fn remove");
    assert_eq!(style_at(&plain, at), slot(&theme, &[Slot::DiffContext]));
    assert_ne!(
        style_at(&coloured, at).fg,
        theme.style(Slot::DiffContext).fg
    );
    // `pub` and `remove` are different tokens: different syntax colours.
    assert_ne!(
        style_at(&coloured, at).fg,
        style_at(&coloured, (at.0 + 7, at.1)).fg
    );
    // A changed word keeps its word style over the syntax colour.
    let at = find(&coloured, "count: u32");
    assert_eq!(
        style_at(&coloured, at).bg,
        slot(&theme, &[Slot::DiffAddWordBg]).bg
    );
    // Nothing left to ask for this screen.
    assert!(view.highlight_requests(99, area, &have).is_empty());
}

#[test]
fn keys_move_by_hunk_and_file_and_toggle() {
    let mut view = two_files();
    let hunks = view.hunk_rows().to_vec();
    assert_eq!(hunks.len(), 2, "two hunks in the Rust file");
    assert_eq!(view.scroll(), 0);
    assert!(view.next_hunk());
    assert_eq!(view.scroll(), hunks[1]);
    assert_eq!((view.selected(), view.scroll()), (0, hunks[1]));
    // Past the last hunk: the next file, at its top.
    assert!(view.next_hunk());
    assert_eq!((view.selected(), view.scroll()), (1, 0));
    assert!(!view.next_hunk(), "nothing after the last file's last hunk");
    assert!(!view.next_file());
    // Back: the previous file's last hunk.
    assert!(view.prev_hunk());
    assert_eq!((view.selected(), view.scroll()), (0, hunks[1]));
    assert!(view.prev_hunk());
    assert_eq!(view.scroll(), hunks[0]);
    assert!(!view.prev_hunk());
    assert!(!view.prev_file());

    // Scrolling is clamped and reports no change at the ends.
    assert!(!view.scroll_up(1));
    assert!(view.page_down(10));
    assert_eq!(view.scroll(), 10);
    assert!(view.bottom(10));
    assert_eq!(view.scroll(), view.row_count() - 10);
    assert!(view.scroll_down(1000));
    assert_eq!(view.scroll(), view.row_count() - 1);
    assert!(!view.scroll_down(1));
    assert!(view.top());
    assert!(!view.top());

    // Side by side pairs the changed lines: fewer rows; back again: the same rows.
    let unified_rows = view.row_count();
    assert!(view.next_hunk());
    let at = view.scroll();
    assert!(view.toggle_layout());
    assert!(view.row_count() < unified_rows);
    assert_eq!(
        view.scroll(),
        view.hunk_rows()[1],
        "the same hunk stays on top"
    );
    assert!(view.toggle_layout());
    assert_eq!((view.row_count(), view.scroll()), (unified_rows, at));

    // Focus on the file list: up and down choose files.
    assert_eq!(view.focus(), Focus::Hunks);
    assert!(view.toggle_focus());
    assert!(view.down());
    assert_eq!((view.selected(), view.scroll()), (1, 0));
    assert!(!view.down());
    assert!(view.up());
    assert_eq!(view.selected(), 0);
}

#[test]
fn small_areas_and_hostile_inputs_never_panic() {
    let long = format!("{}\n", "x".repeat(200_000));
    let hostile_old = "a\tb\x1b[31mred\x07\r\nmiddle\n";
    let hostile_new = format!("a\tb\x1b[32mgreen\x07\r\nmiddle\nwide 漢字漢字 ✓\n{long}no newline");
    let mut views = vec![
        DiffView::from_texts("evil.txt", hostile_old, &hostile_new),
        DiffView::from_texts("same.rs", "fn a() {}\n", "fn a() {}\n"),
        two_files(),
    ];
    let mut binary = two_files().set().clone();
    binary.files = vec![FileDiff {
        old_path: Some("logo.png".into()),
        new_path: Some("logo.png".into()),
        status: FileStatus::Modified,
        additions: 0,
        deletions: 0,
        content: FileContent::Binary {
            old_size: 10,
            new_size: 12,
        },
    }];
    views.push(DiffView::new(binary.clone(), vec![]));
    binary.files.clear();
    views.push(DiffView::new(binary, vec![]));
    let none = Highlights::default();
    for mut view in views {
        for _ in 0..2 {
            for (w, h) in [
                (0, 0),
                (1, 1),
                (10, 3),
                (23, 24),
                (24, 4),
                (30, 5),
                (69, 10),
                (70, 10),
                (80, 24),
            ] {
                let buf = draw(&view, &none, w, h);
                let screen = text(&buf);
                assert!(!screen.contains('\x1b') && !screen.contains('\x07'));
                if w > 0 && h > 0 && (w < 24 || h < 4) {
                    let msg: String = "too small for the diff".chars().take(w as usize).collect();
                    assert!(screen.starts_with(msg.trim_end()), "{screen}");
                }
            }
            view.next_hunk();
            view.bottom(3);
            view.toggle_layout();
        }
    }
    // The hostile file: control characters shown as stand-ins, the long line cut.
    let view = DiffView::from_texts("evil.txt", hostile_old, &hostile_new);
    let screen = text(&draw(&view, &none, 80, 24));
    assert!(screen.contains("b�[32mgreen�"), "{screen}");
    let empty = DiffView::new(two_files().set().clone(), vec![]);
    assert!(empty
        .highlight_requests(1, Rect::new(0, 0, 80, 24), &none)
        .is_empty());
}

#[test]
fn the_highlighter_drops_stale_generations() {
    let text = Arc::new(
        source(3_000, 5)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>(),
    );
    let mut hl = Highlighter::spawn("base16-ocean.dark").unwrap();
    let request = |generation: u64, lines: Vec<u32>| HighlightRequest {
        generation,
        file: 0,
        side: TextSide::New,
        path: "big.rs".into(),
        text: text.clone(),
        lines,
    };
    // Three requests before the client looks: only the newest may come back.
    hl.request(request(1, (2_900..2_950).collect()));
    hl.request(request(2, (1..50).collect()));
    hl.request(request(3, (100..150).collect()));
    let r = hl.next_timeout(Duration::from_secs(20)).expect("a result");
    assert_eq!(r.generation, 3);
    assert_eq!(r.lines.first().map(|l| l.0), Some(100));
    assert_eq!(r.lines.len(), 50);
    assert!(hl.next_timeout(Duration::from_millis(300)).is_none());
    let mut have = Highlights::default();
    assert!(!hl.poll(&mut have));
    have.insert(r);
    assert!(have.contains(0, TextSide::New, 120));
    assert!(!have.contains(0, TextSide::New, 20));
}

#[test]
fn a_line_in_the_middle_is_not_highlighted_from_the_start_twice() {
    let lines: Vec<String> = source(20_000, 9).lines().map(str::to_string).collect();
    let text = Arc::new(lines);
    let mut hl = Highlighter::spawn("base16-ocean.dark").unwrap();
    let mut generation = 0;
    let mut ask = |hl: &mut Highlighter, lines: Vec<u32>| {
        generation += 1;
        hl.request(HighlightRequest {
            generation,
            file: 7,
            side: TextSide::Old,
            path: "big.rs".into(),
            text: text.clone(),
            lines,
        });
        hl.next_timeout(Duration::from_secs(60)).expect("a result")
    };
    // The first jump to the middle starts from a fresh state a little above it (not from
    // the file's start).
    let first = ask(&mut hl, vec![10_000, 10_001]);
    assert!(
        first.parsed <= (SYNC_BACK + CHECKPOINT_EVERY) as u64 + 2,
        "{}",
        first.parsed
    );
    // Further down: from the nearest checkpoint, not from the start.
    let next = ask(&mut hl, vec![10_050]);
    assert!(
        next.parsed <= CHECKPOINT_EVERY as u64 + 50,
        "{}",
        next.parsed
    );
    // Back up, far from any checkpoint: from a fresh state a little above, again.
    let back = ask(&mut hl, vec![5_000]);
    assert!(
        back.parsed <= (SYNC_BACK + CHECKPOINT_EVERY) as u64,
        "{}",
        back.parsed
    );
    // And back down near the first jump: from its checkpoints.
    let again = ask(&mut hl, vec![10_020]);
    assert!(again.parsed <= CHECKPOINT_EVERY as u64, "{}", again.parsed);
    // And the colours match a cold highlighter's that read everything before (one request
    // for every line is parsed from the start).
    let mut cold = Highlighter::spawn("base16-ocean.dark").unwrap();
    cold.request(HighlightRequest {
        generation: 1,
        file: 7,
        side: TextSide::Old,
        path: "big.rs".into(),
        text: text.clone(),
        lines: (1..=10_050).collect(),
    });
    let fresh = cold.next_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(fresh.parsed, 10_050);
    assert_eq!(fresh.lines.last(), next.lines.last());
    assert!(next.lines[0].1.len() > 1, "a code line has several tokens");
    // A new text for the same file starts over.
    let other = Arc::new(vec!["fn main() {}".to_string(); 10]);
    generation += 1;
    hl.request(HighlightRequest {
        generation,
        file: 7,
        side: TextSide::Old,
        path: "big.rs".into(),
        text: other,
        lines: vec![5],
    });
    let r = hl.next_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(r.parsed, 5);
}

#[test]
fn loads_a_task_branch_with_its_texts() {
    let repo = Repo::new();
    repo.write("src/cart.rs", OLD_RS);
    repo.write("logo.bin", "\0\x01\x02");
    let git = |args: &[&str]| {
        let mut cmd = std::process::Command::new("git");
        cmd.args(["-c", "user.name=Tester", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(repo.path());
        sandbox(&mut cmd, repo.home.path());
        assert!(cmd.output().unwrap().status.success(), "git {args:?}");
    };
    git(&["add", "."]);
    git(&["commit", "-qm", "one"]);
    git(&["checkout", "-qb", "session/s1/task/t1"]);
    repo.write("src/cart.rs", NEW_RS);
    repo.write("logo.bin", "\0\x01\x03");
    git(&["commit", "-qam", "task work"]);
    git(&["checkout", "-q", "-"]);
    let repo2 = git2::Repository::open(repo.path()).unwrap();
    let (from, to) = diff::sides(&repo2, Some("t1"), None).unwrap();
    assert_eq!(
        diff::file_text(&repo2, &to, "src/cart.rs")
            .unwrap()
            .as_deref(),
        Some(NEW_RS)
    );
    assert_eq!(diff::file_text(&repo2, &to, "logo.bin").unwrap(), None);
    assert_eq!(diff::file_text(&repo2, &to, "nope.rs").unwrap(), None);
    let view = DiffView::load(&repo2, &from, &to).unwrap();
    let cart = view
        .set()
        .files
        .iter()
        .position(|f| f.path() == "src/cart.rs")
        .unwrap();
    let mut view = view;
    view.select_file(cart);
    // The requests carry the whole texts, so line numbers index them.
    let reqs = view.highlight_requests(1, Rect::new(0, 0, 120, 40), &Highlights::default());
    let new = reqs.iter().find(|r| r.side == TextSide::New).unwrap();
    assert_eq!(new.text.len(), NEW_RS.lines().count());
    let FileContent::Text { hunks } = &view.set().files[cart].content else {
        panic!("text")
    };
    for line in hunks.iter().flat_map(|h| &h.lines) {
        if line.kind != LineKind::Removed {
            let n = line.new_no.unwrap() as usize;
            assert_eq!(new.text[n - 1], line.text);
        }
    }
}

#[test]
fn an_idle_highlighter_does_no_work_and_a_far_jump_starts_near_it() {
    let text = Arc::new(
        source(30_000, 3)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>(),
    );
    let mut hl = Highlighter::spawn("base16-ocean.dark").unwrap();
    let mut generation = 0;
    let mut ask = |hl: &mut Highlighter, line: u32| {
        generation += 1;
        hl.request(HighlightRequest {
            generation,
            file: 0,
            side: TextSide::New,
            path: "big.rs".into(),
            text: text.clone(),
            lines: vec![line],
        });
        hl.next_timeout(Duration::from_secs(60)).expect("a result")
    };
    // The first screen: only the top is read to answer it.
    assert_eq!(ask(&mut hl, 40).parsed, 40);
    // Nothing more while idle (it used to read the whole file ahead).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hl.parsed_total(), 40);
    // A jump near the end starts a little above it; scrolling on from there continues.
    let far = ask(&mut hl, 29_900);
    assert!(
        far.parsed <= (SYNC_BACK + CHECKPOINT_EVERY) as u64,
        "{}",
        far.parsed
    );
    let on = ask(&mut hl, 29_950);
    assert!(on.parsed <= CHECKPOINT_EVERY as u64 + 50, "{}", on.parsed);
    // A jump within reach of a checkpoint continues from it exactly (here the file's start).
    let near = ask(&mut hl, 40 + MAX_CATCH_UP / 2);
    assert_eq!(near.parsed, (40 + MAX_CATCH_UP / 2) as u64);
    assert_eq!(hl.parsed_total(), 40 + far.parsed + on.parsed + near.parsed);
}

#[test]
fn the_console_loads_a_task_live_from_its_worktree_checkpoints_and_the_integration_branch() {
    use overlord::tui::diff_source::{load, DiffSource};
    let repo = Repo::new();
    let (dir, home) = (repo.path(), repo.home.path());
    repo.write("src/lib.rs", "pub fn one() -> u32 {\n    1\n}\n");
    git(dir, home, &["add", "-A"]);
    git(dir, home, &["commit", "-qm", "first"]);
    git(dir, home, &["branch", "-M", "main"]);
    let first = git(dir, home, &["rev-parse", "HEAD"]).trim().to_string();

    // No integration branch yet: a clear message, not a panic.
    let main = "main".to_string();
    let e = load(dir, &DiffSource::Integration { main: main.clone() }).unwrap_err();
    assert!(e.contains("no integration branch yet"), "{e}");

    // A task's worktree: what the agent has on disk now, committed or not.
    let wt = dir.join(".overlord/worktrees/t1");
    git(
        dir,
        home,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "session/s1/task/t1",
            wt.to_str().unwrap(),
        ],
    );
    std::fs::write(wt.join("src/lib.rs"), "pub fn one() -> u32 {\n    2\n}\n").unwrap();
    std::fs::write(wt.join("notes.md"), "new\n").unwrap();
    let task = DiffSource::Task {
        task: "t1".into(),
        main: main.clone(),
    };
    let v = load(dir, &task).unwrap();
    let paths: Vec<&str> = v.set().files.iter().map(|f| f.path()).collect();
    assert_eq!(paths, ["notes.md", "src/lib.rs"]);
    // The agent commits and writes more: a reload sees both.
    git(&wt, home, &["add", "-A"]);
    git(&wt, home, &["commit", "-qm", "t1 work"]);
    std::fs::write(wt.join("more.txt"), "x\n").unwrap();
    let v = load(dir, &task).unwrap();
    assert_eq!(v.set().files.len(), 3);

    // The worktree gone: the task's branch against its fork point.
    git(
        dir,
        home,
        &["worktree", "remove", "--force", wt.to_str().unwrap()],
    );
    let v = load(dir, &task).unwrap();
    let paths: Vec<&str> = v.set().files.iter().map(|f| f.path()).collect();
    assert_eq!(paths, ["notes.md", "src/lib.rs"]);

    // Integration against main, and two revisions.
    git(
        dir,
        home,
        &["branch", "session/s1/integration", "session/s1/task/t1"],
    );
    let v = load(dir, &DiffSource::Integration { main: main.clone() }).unwrap();
    assert_eq!(v.set().files.len(), 2);
    let v = load(
        dir,
        &DiffSource::Revisions {
            from: first.clone(),
            to: "session/s1/task/t1".into(),
        },
    )
    .unwrap();
    assert_eq!(v.set().files.len(), 2);
    // Unknown names and tasks are errors with the name in them.
    let e = load(
        dir,
        &DiffSource::Revisions {
            from: "checkpoint/nope".into(),
            to: first,
        },
    )
    .unwrap_err();
    assert!(e.contains("nope"), "{e}");
    let e = load(
        dir,
        &DiffSource::Task {
            task: "ghost".into(),
            main,
        },
    )
    .unwrap_err();
    assert!(e.contains("ghost"), "{e}");
}

/// The reviewer's findings: each under the line it is about, the ones about the whole file
/// (or a line the diff does not show) at the top of its rows, and a mark in the file list.
#[test]
fn review_findings_show_next_to_their_lines() {
    use overlord::protocol::model::{Finding, Review, Verdict};
    use overlord::tui::diff_view::ReviewNote;
    let review = Review {
        task: "t1".into(),
        round: 2,
        reviewer: "reviewer-1".into(),
        verdict: Verdict::RequestChanges,
        findings: vec![
            Finding {
                file: "src/cart.rs".into(),
                line: Some(13),
                severity: "major".into(),
                text: "keep the parameter's name".into(),
            },
            Finding {
                file: "src/cart.rs".into(),
                line: None,
                severity: "minor".into(),
                text: "no test for clear".into(),
            },
            Finding {
                file: "src/cart.rs".into(),
                line: Some(2),
                severity: "nit".into(),
                text: "a line the diff does not show".into(),
            },
        ],
        summary: None,
        at: "2026-12-07T08:00:00Z".into(),
    };
    let mut view = two_files();
    let hunks_before = view.hunk_rows().len();
    let rows_before = view.row_count();
    assert!(view.set_review(ReviewNote::of(&review)));
    assert!(!view.set_review(ReviewNote::of(&review)), "unchanged");
    assert_eq!(view.row_count(), rows_before + 3);
    assert_eq!(view.hunk_rows().len(), hunks_before);
    let none = Highlights::default();
    for layout in [Layout::Unified, Layout::SideBySide] {
        if view.layout() != layout {
            view.toggle_layout();
        }
        let screen = text(&draw(&view, &none, 120, 40));
        let lines: Vec<&str> = screen.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("+    pub fn add"))
            .unwrap_or_else(|| panic!("{screen}"));
        assert!(
            lines[at + 1]
                .contains("◆ review 2 request_changes [major] line 13: keep the parameter's name"),
            "{layout:?}\n{screen}"
        );
        let first_hunk = lines
            .iter()
            .position(|l| l.contains("@@ -"))
            .unwrap_or_else(|| panic!("{screen}"));
        let top: Vec<&&str> = lines[..first_hunk]
            .iter()
            .filter(|l| l.contains("◆ review"))
            .collect();
        assert_eq!(top.len(), 2, "{layout:?}\n{screen}");
        assert!(top[0].contains("[minor] no test for clear"), "{screen}");
        assert!(top[1].contains("[nit] line 2: a line the diff does not show"));
        // The file list marks the reviewed file, not the other.
        assert!(
            screen.lines().any(|l| l.contains("M◆src/cart.rs")),
            "{screen}"
        );
        assert!(
            screen.lines().any(|l| l.contains("M README.md")),
            "{screen}"
        );
    }
    // A hunk key still lands on a hunk header.
    view.next_hunk();
    let screen = text(&draw(&view, &none, 120, 40));
    assert!(screen.contains("@@ -"), "{screen}");
}

//! The command bar through the terminal's own input path (`tui::run::on_terminal`) and drawn
//! with `tui::run::draw_frame`: slashes, readline's keys, completion at the cursor with its
//! menu, long answers in their overlay, `/theme` at run time, and the assign key's cursor.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use overlord::protocol::model::ConcernId;
use overlord::protocol::{Command, Reply, ReplyData};
use overlord::tui::app::{App, Intent};
use overlord::tui::keymap::{parse_key, Keymap};
use overlord::tui::run::{draw_frame, on_terminal, Look};
use overlord::tui::theme::{Slot, Theme};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::tui_panes::{session, text};

struct Bar {
    app: App,
    keymap: Keymap,
    size: Rect,
}

impl Bar {
    fn new() -> Bar {
        let mut app = App::new(session());
        let size = Rect::new(0, 0, 80, 24);
        app.screen.size = size;
        Bar {
            app,
            keymap: Keymap::default(),
            size,
        }
    }

    fn key(&mut self, spec: &str) -> Vec<Intent> {
        let k = parse_key(spec).unwrap();
        on_terminal(
            &mut self.app,
            &self.keymap,
            self.size,
            Some(TermEvent::Key(k)),
        )
    }

    fn typed(&mut self, s: &str) {
        for c in s.chars() {
            let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            on_terminal(
                &mut self.app,
                &self.keymap,
                self.size,
                Some(TermEvent::Key(k)),
            );
        }
    }

    fn line(&self) -> (&str, usize) {
        (
            self.app.screen.command.as_deref().unwrap_or("<closed>"),
            self.app.screen.command_cursor,
        )
    }

    /// A bar holding `text`, the cursor at its end.
    fn holding(text: &str) -> Bar {
        let mut b = Bar::new();
        b.key(":");
        b.key("ctrl-u");
        b.typed(text);
        b
    }

    fn draw_with(&self, theme: &Theme) -> Buffer {
        let look = Look {
            theme,
            keymap: &self.keymap,
            stall_secs: 120,
        };
        let now = overlord::core::parse_stamp(crate::tui_panes::NOW).unwrap();
        let mut buf = Buffer::empty(self.size);
        draw_frame(&self.app, &look, &[], now, self.size, &mut buf);
        buf
    }

    fn screen(&self) -> String {
        text(&self.draw_with(&Theme::dark()))
    }
}

#[test]
fn a_command_with_one_slash_two_or_none_is_the_same_command() {
    for typed in ["/status", "status", "//status", "  ///status "] {
        let mut b = Bar::new();
        b.key(":");
        assert_eq!(b.line(), ("/", 1), "`:` opens holding a slash");
        b.typed(typed);
        assert_eq!(
            b.key("enter"),
            vec![Intent::Submit(Command::Status)],
            "{typed:?}"
        );
        assert_eq!(b.app.screen.reply, None, "{typed:?}: no error");
    }
    // The history keeps the one form.
    let mut b = Bar::new();
    b.key(":");
    b.typed("/ack C-1");
    b.key("enter");
    b.key(":");
    b.key("up");
    assert_eq!(b.line().0, "/ack C-1");
}

#[test]
fn ctrl_u_deletes_to_the_start_of_the_line() {
    let mut b = Bar::holding("/ack C-1 now");
    for _ in 0..4 {
        b.key("left");
    }
    b.key("ctrl-u");
    assert_eq!(b.line(), (" now", 0));
}

#[test]
fn ctrl_k_deletes_to_the_end_of_the_line() {
    let mut b = Bar::holding("/ack C-1 now");
    for _ in 0..4 {
        b.key("left");
    }
    b.key("ctrl-k");
    assert_eq!(b.line(), ("/ack C-1", 8));
}

#[test]
fn ctrl_w_deletes_the_word_back_to_a_space() {
    let mut b = Bar::holding("/pause implementer-1");
    b.key("ctrl-w");
    assert_eq!(b.line(), ("/pause ", 7), "an id goes whole");
    b.key("ctrl-w");
    assert_eq!(b.line(), ("", 0));
}

#[test]
fn ctrl_a_and_ctrl_e_go_to_the_start_and_the_end() {
    let mut b = Bar::holding("/ack C-1");
    b.key("ctrl-a");
    assert_eq!(b.line().1, 0);
    b.key("ctrl-e");
    assert_eq!(b.line().1, 8);
}

#[test]
fn alt_b_and_alt_f_move_by_words_as_readline_does() {
    let mut b = Bar::holding("/ack C-1 now");
    b.key("alt-b");
    assert_eq!(b.line().1, 9, "to the start of `now`");
    b.key("alt-b");
    assert_eq!(b.line().1, 7, "to the start of `1`");
    b.key("ctrl-a");
    b.key("alt-f");
    assert_eq!(b.line().1, 4, "to the end of `ack`");
    b.key("alt-f");
    assert_eq!(b.line().1, 6, "to the end of `C`");
}

#[test]
fn assign_leaves_the_cursor_in_the_agent_s_place() {
    let mut b = Bar::new();
    b.key("2");
    b.key("A");
    let (line, cursor) = b.line();
    let line = line.to_string();
    assert!(line.starts_with("/assign "), "{line}");
    let agent = line.split(' ').nth(1).unwrap().to_string();
    let concern = line.split(' ').nth(2).unwrap().to_string();
    assert!(concern.starts_with("C-"), "{line}");
    assert_eq!(cursor, "/assign ".len() + agent.len(), "{line}");
    // Whatever is typed there is the agent.
    for _ in 0..agent.len() {
        b.key("backspace");
    }
    b.typed("tester-1");
    assert_eq!(
        b.key("enter"),
        vec![Intent::Submit(Command::Assign {
            agent: "tester-1".into(),
            concern: Some(concern.parse::<ConcernId>().unwrap()),
            text: String::new(),
        })]
    );
}

#[test]
fn tab_completes_the_word_at_the_cursor_and_cycles_both_ways() {
    let mut b = Bar::holding("/pause imp");
    b.key("tab");
    assert_eq!(b.line(), ("/pause implementer-1 ", 21));
    let menu = b.app.screen.completion.clone().expect("a menu");
    assert_eq!(menu.candidates, vec!["implementer-1", "implementer-2"]);
    b.key("tab");
    assert_eq!(b.line().0, "/pause implementer-2 ");
    b.key("tab");
    assert_eq!(b.line().0, "/pause implementer-1 ", "round again");
    b.key("backtab");
    assert_eq!(b.line().0, "/pause implementer-2 ");
    assert_eq!(b.app.screen.completion.as_ref().unwrap().selected, 1);
    // Enter keeps the candidate and closes the menu; the next one submits.
    assert!(b.key("enter").is_empty());
    assert!(b.app.screen.completion.is_none());
    assert_eq!(b.line().0, "/pause implementer-2 ");

    // In the middle of the line: what follows stays.
    let mut b = Bar::holding("/ack C- now");
    for _ in 0..4 {
        b.key("left");
    }
    b.key("tab");
    assert_eq!(b.line(), ("/ack C-1 now", 9));
    b.key("tab");
    assert_eq!(b.line(), ("/ack C-2 now", 9));
    // The command word itself, mid-line, with the double slash `:` leads to.
    let mut b = Bar::holding("//ac C-1");
    for _ in 0..4 {
        b.key("left");
    }
    b.key("tab");
    assert_eq!(b.line(), ("/ack C-1", 5));
    // One candidate goes in without a menu; typing closes a menu.
    assert!(b.app.screen.completion.is_none());
    let mut b = Bar::holding("/rollback ");
    b.key("tab");
    assert!(b.app.screen.completion.is_some());
    b.typed("x");
    assert!(b.app.screen.completion.is_none());
}

#[test]
fn the_completion_menu_shows_above_the_bar_with_the_choice_highlighted() {
    let mut b = Bar::holding("/");
    b.key("tab");
    b.key("tab");
    let shown = b.screen();
    insta::assert_snapshot!("completion_menu_80x24", shown);
    // The second command is the highlighted one.
    let buf = b.draw_with(&Theme::dark());
    let selection = Theme::dark().style(Slot::Selection).bg;
    let row = (0..24)
        .find(|y| {
            (0..80).any(|x| buf[(x, *y)].bg == selection.unwrap() && buf[(x, *y)].symbol() == "/")
        })
        .expect("a highlighted candidate");
    let text_of_row: String = (0..80)
        .map(|x| buf[(x, row)].symbol().to_string())
        .collect();
    assert!(text_of_row.contains("/help"), "{text_of_row}");
    assert!(shown.contains("+10 more"), "{shown}");
}

fn help_reply() -> Reply {
    let mut message = String::from("Commands (the same in the console, the CLI and Discord):\n");
    for c in overlord::protocol::grammar::COMMANDS
        .iter()
        .filter(|c| c.human)
    {
        message.push_str(&format!("  {:<44} {}\n", c.usage, c.summary));
    }
    Reply {
        command_seq: 3,
        ok: true,
        message,
        error: None,
        events: vec![],
        data: ReplyData::Help(vec![]),
    }
}

#[test]
fn a_long_answer_opens_in_a_scrollable_overlay_that_keys_do_not_pass() {
    let mut b = Bar::new();
    b.app.on_reply(&help_reply());
    let answer = b.app.screen.answer.clone().expect("the overlay");
    assert_eq!(answer.title, "Help");
    assert!(b.screen().contains("/status"));
    b.key("j");
    b.key("j");
    assert_eq!(b.app.screen.answer.as_ref().unwrap().scroll, 2);
    insta::assert_snapshot!("help_answer_scrolled_80x24", b.screen());
    b.key("G");
    let last = b.app.screen.answer.as_ref().unwrap().scroll;
    assert!(last > 2, "{last}");
    assert!(b.screen().contains("/rollback <checkpoint|undo>"));
    b.key("j");
    assert_eq!(
        b.app.screen.answer.as_ref().unwrap().scroll,
        last,
        "stops at the end"
    );
    b.key("g");
    assert_eq!(b.app.screen.answer.as_ref().unwrap().scroll, 0);
    // Keys do not reach the pane behind it; `q` closes it rather than quitting.
    b.key("3");
    assert_eq!(b.app.screen.focus, overlord::tui::screen::Pane::Swarm);
    assert!(b.key("q").is_empty());
    assert!(b.app.screen.answer.is_none());

    // `/help rollback`: one line wider than the bar.
    let one = overlord::protocol::grammar::spec("rollback").unwrap();
    b.app.on_reply(&Reply {
        message: format!("  {:<44} {}\n", one.usage, one.summary),
        ..help_reply()
    });
    assert!(b.app.screen.answer.is_some());
    assert!(b.screen().contains("reverses"));
    b.key("esc");
    // A short answer stays in the bar.
    b.app.on_reply(&Reply {
        message: "acknowledged C-1".into(),
        data: ReplyData::None,
        ..help_reply()
    });
    assert!(b.app.screen.answer.is_none());
    assert!(b.screen().contains("acknowledged C-1"));
    // A long line answering anything but `/help` (a rollback's outcome, arriving while the
    // human does something else) stays in the bar and takes no keys.
    b.app.on_reply(&Reply {
        message: "checkpoint/20261207-003 restores checkpoint/20261207-001 on main (new commit be7dd58c9a; history kept); 1 task branch(es) flagged".into(),
        data: ReplyData::None,
        ..help_reply()
    });
    assert!(b.app.screen.answer.is_none());
    assert_eq!(b.key("q"), vec![Intent::Quit]);
}

#[test]
fn theme_switches_at_run_time_lists_and_saves() {
    let mut b = Bar::new();
    let dark = Theme::dark();
    let light = Theme::builtin("light").unwrap();
    let light_bg = light.style(Slot::Text).bg.unwrap();
    assert!(b
        .draw_with(&dark)
        .content()
        .iter()
        .all(|c| c.bg != light_bg));

    b.key(":");
    b.typed("theme");
    assert!(b.key("enter").is_empty());
    let (ok, listed) = b.app.screen.reply.clone().unwrap();
    assert!(
        ok && listed.contains("dark (current)") && listed.contains("high-contrast"),
        "{listed}"
    );

    // Completed, then switched: the next frame is drawn in it (over the look it started with).
    b.key(":");
    b.typed("theme li");
    b.key("tab");
    assert_eq!(b.line().0, "/theme light ");
    assert_eq!(
        b.key("enter"),
        vec![Intent::SwitchTheme {
            name: "light".into(),
            save: false
        }]
    );
    assert_eq!(b.app.theme_name(), "light");
    let buf = b.draw_with(&dark);
    assert!(buf
        .content()
        .iter()
        .all(|c| c.bg != ratatui::style::Color::Reset));
    assert!(buf.content().iter().any(|c| c.bg == light_bg));

    b.key(":");
    b.typed("theme high-contrast --save");
    assert_eq!(
        b.key("enter"),
        vec![Intent::SwitchTheme {
            name: "high-contrast".into(),
            save: true
        }]
    );

    // A bad name: a clear error naming the themes, and the theme stays.
    b.key(":");
    b.typed("theme solarized");
    assert!(b.key("enter").is_empty());
    let (ok, message) = b.app.screen.reply.clone().unwrap();
    assert!(!ok, "{message}");
    assert!(
        message.contains("solarized") && message.contains("dark, light, high-contrast (current)"),
        "{message}"
    );
    assert_eq!(b.app.theme_name(), "high-contrast");
}

/// Small terminals: ids are shown whole (other columns give way), and paths are shortened from
/// the middle, keeping the file name and the directory that tells them apart.
#[test]
fn small_terminals_keep_ids_whole_and_paths_apart() {
    use overlord::tui::diff_view::{DiffView, FileTexts};
    use overlord::tui::screen::{Pane, Screen};
    let s = crate::tui_panes::script();
    let mut screen = Screen::default();
    let (swarm, _) = crate::tui_panes::screen_of(&s, &screen, 60, 20);
    for id in [
        "designer-1",
        "implementer-1",
        "implementer-2",
        "tester-1",
        "impl-arith",
        "impl-big",
    ] {
        assert!(swarm.contains(id), "{id} cut at 60×20:\n{swarm}");
    }
    insta::assert_snapshot!("swarm_60x20", swarm);
    screen.focus = Pane::Plan;
    let (plan, _) = crate::tui_panes::screen_of(&s, &screen, 60, 20);
    for id in ["implementer-1", "implementer-2", "impl-arith", "impl-big"] {
        assert!(plan.contains(id), "{id} cut at 60×20:\n{plan}");
    }
    insta::assert_snapshot!("plan_60x20", plan);

    let paths = [
        "src/mode.rs",
        "tests/mode.rs",
        "crates/tally/src/median.rs",
        "crates/tally/tests/median.rs",
    ];
    let (old, new) = ("fn a() {}\n", "fn a() {}\nfn b() {}\n");
    let mut set = DiffView::from_texts(paths[0], old, new).set().clone();
    for p in &paths[1..] {
        set.files.extend(
            DiffView::from_texts(p, old, new)
                .set()
                .files
                .iter()
                .cloned(),
        );
    }
    let texts = paths
        .iter()
        .map(|_| Some(FileTexts::from_texts(old, new)))
        .collect();
    screen.diff.view = Some(DiffView::new(set, texts));
    screen.focus = Pane::Diff;
    let (diff, _) = crate::tui_panes::screen_of(&s, &screen, 80, 24);
    for shown in [
        "src/mode.rs",
        "tests/mode.rs",
        "…/src/median.rs",
        "tests…/median.rs",
    ] {
        assert!(diff.contains(shown), "{shown} not in\n{diff}");
    }
    insta::assert_snapshot!("diff_files_80x24", diff);
}

#[test]
fn paths_are_shortened_from_the_middle_and_stay_apart() {
    use overlord::tui::text::shorten_path;
    let all = ["src/tui/mode.rs", "tests/tui/mode.rs", "src/lib.rs"];
    assert_eq!(shorten_path("src/tui/mode.rs", &all, 40), "src/tui/mode.rs");
    assert_eq!(shorten_path("src/tui/mode.rs", &all, 13), "src/…/mode.rs");
    assert_eq!(
        shorten_path("tests/tui/mode.rs", &all, 15),
        "tests/…/mode.rs"
    );
    let deep = ["a/b/one/c/x.rs", "a/b/two/c/x.rs"];
    assert_eq!(shorten_path(deep[0], &deep, 14), "a/b/one/c/x.rs");
    assert_eq!(shorten_path(deep[0], &deep, 13), "…/one/…/x.rs");
    let two = ["ab/cd/one/ef/x.rs", "ab/cd/two/ef/x.rs"];
    assert_eq!(shorten_path(two[0], &two, 16), "ab/…/one/…/x.rs");
    assert_eq!(shorten_path(deep[1], &deep, 11), "two…/x.rs");
    // Alone, a long path keeps its first directory and its name.
    assert_eq!(shorten_path("src/tui/app/mod.rs", &[], 13), "src/…/mod.rs");
}

#[test]
fn columns_leave_out_the_lowest_rank_before_cutting_an_id() {
    use overlord::tui::text::{columns, Column};
    let c = |want, least, rank| Column { want, least, rank };
    let cols = [c(13, 13, 9), c(11, 11, 3), c(16, 12, 8), c(40, 6, 2)];
    // Room for all: each what it wants but the last, which takes what is left.
    assert_eq!(
        columns(&cols, 70, 1),
        vec![Some(13), Some(11), Some(16), Some(27)]
    );
    // Less room: the lowest rank shrinks first.
    assert_eq!(
        columns(&cols, 50, 1),
        vec![Some(13), Some(11), Some(16), Some(7)]
    );
    // Too little for every least width: the lowest ranks go, the id stays whole.
    let w = columns(&cols, 30, 1);
    assert_eq!(w[0], Some(13));
    assert_eq!(w[3], None);
    assert_eq!(w[1], None, "the role goes before the state is cut");
    assert_eq!(w[2], Some(16));
}

/// `r` on an agent's permission request, then tab: the bar offers the three answers and
/// completes the chosen one whole (it has spaces in it); another concern gets none.
#[test]
fn tab_after_resolve_on_a_permission_request_offers_its_three_answers() {
    let mut b = Bar::new();
    let id = *b.app.state.concerns.keys().next().unwrap();
    let c = b.app.state.concerns.get_mut(&id).unwrap();
    c.category = overlord::protocol::permission::CATEGORY.into();
    let line = format!("/resolve {id} ");
    let c = overlord::tui::command_bar::candidates_at(&line, line.chars().count(), &b.app.state);
    assert_eq!(
        c.words,
        vec!["allow once", "allow for the session", "reject"]
    );
    let typed = format!("/resolve {id} allow");
    let c = overlord::tui::command_bar::candidates_at(&typed, typed.chars().count(), &b.app.state);
    assert_eq!(c.words, vec!["allow once", "allow for the session"]);
    let mut b2 = Bar::holding(&line);
    b2.app.state = b.app.state.clone();
    b2.key("tab");
    assert_eq!(b2.line().0, format!("/resolve {id} allow once "));
    // Any other concern: no answers to offer.
    b.app.state.concerns.get_mut(&id).unwrap().category = "gap".into();
    let c = overlord::tui::command_bar::candidates_at(&line, line.chars().count(), &b.app.state);
    assert!(c.words.is_empty());
}

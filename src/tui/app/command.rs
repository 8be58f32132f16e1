//! The command bar's side of the update step: submitting a line (the console's own commands,
//! like `/theme`, are answered here; the rest is parsed for the core), completing the word at
//! the cursor through a menu, readline's deletions, and the answer overlay's scrolling.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Intent};
use crate::protocol::parse;
use crate::tui::command_bar::{
    candidates_at, console_command, delete_word_back, normalize, replace_word, word_back,
    word_forward,
};
use crate::tui::command_view::{Answer, CompletionMenu};
use crate::tui::keymap::Action;
use crate::tui::screen;
use crate::tui::theme::{Theme, BUILTIN};

/// How far a page key moves the answer overlay.
const PAGE: usize = 10;

impl App {
    /// A line the human submitted: `//status`, `/status` and `status` alike.
    pub(super) fn submit_line(&mut self, text: &str) -> Vec<Intent> {
        let line = normalize(text);
        if line.is_empty() {
            return Vec::new();
        }
        self.history.push(&line);
        if let Some((name, args)) = console_command(&line) {
            return match name {
                "theme" => self.theme_command(&args),
                _ => Vec::new(),
            };
        }
        match parse(&line) {
            Ok(c) => vec![Intent::Submit(c)],
            Err(e) => {
                let message = e.to_string();
                self.screen.answer = self.long_answer("Error", &message);
                self.screen.reply = Some((false, message));
                Vec::new()
            }
        }
    }

    /// The theme's name the console draws with now.
    pub fn theme_name(&self) -> String {
        self.theme
            .as_ref()
            .map_or_else(|| Theme::default().name, |t| t.name.clone())
    }

    /// `/theme` lists the themes, `/theme <name>` switches to one now, `--save` also writes it
    /// to the config file.
    fn theme_command(&mut self, args: &[String]) -> Vec<Intent> {
        let save = args.iter().any(|a| a == "--save");
        let names: Vec<&String> = args.iter().filter(|a| *a != "--save").collect();
        let list = |current: &str| -> String {
            BUILTIN
                .iter()
                .map(|(n, _)| {
                    if *n == current {
                        format!("{n} (current)")
                    } else {
                        n.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let current = self.theme_name();
        let (ok, message, out) = match names.as_slice() {
            [] if !save => (true, format!("themes: {}", list(&current)), Vec::new()),
            [] => (
                true,
                format!("saving the theme {current}"),
                vec![Intent::SwitchTheme {
                    name: current.clone(),
                    save,
                }],
            ),
            [name] if name.starts_with("--") => (
                false,
                format!("/theme: unknown flag {name} (usage: /theme [name] [--save])"),
                Vec::new(),
            ),
            [name] => match Theme::builtin(&name.to_ascii_lowercase()) {
                Some(theme) => {
                    let name = theme.name.clone();
                    self.theme = Some(theme);
                    (
                        true,
                        format!("theme {name}"),
                        vec![Intent::SwitchTheme { name, save }],
                    )
                }
                None => (
                    false,
                    format!(
                        "no theme '{}' (themes: {})",
                        crate::tui::text::clean(name),
                        list(&current)
                    ),
                    Vec::new(),
                ),
            },
            _ => (
                false,
                "/theme takes one name (usage: /theme [name] [--save])".to_string(),
                Vec::new(),
            ),
        };
        self.screen.reply = Some((ok, message));
        out
    }

    /// `tab` (`forward`) or `shift-tab`: the first press offers the candidates for the word at
    /// the cursor (one is put in at once; several open the menu with the first put in), the
    /// next ones put in the next or previous candidate.
    pub(super) fn complete_step(&mut self, forward: bool) {
        let text = self.screen.command.clone().unwrap_or_default();
        if let Some(menu) = self.screen.completion.as_mut() {
            let n = menu.candidates.len();
            menu.selected = if forward {
                (menu.selected + 1) % n
            } else {
                (menu.selected + n - 1) % n
            };
            let word = menu.candidates[menu.selected].clone();
            let (start, end) = (menu.start, menu.end);
            let (line, cursor) = replace_word(&text, start, end, &word);
            if let Some(menu) = self.screen.completion.as_mut() {
                menu.end = start + word.chars().count();
            }
            self.set_command_at(line, cursor);
            return;
        }
        let found = candidates_at(&text, self.screen.command_cursor, &self.state);
        if found.words.is_empty() {
            self.screen.reply = Some((false, "nothing to complete here".into()));
            return;
        }
        let selected = if forward { 0 } else { found.words.len() - 1 };
        let word = found.words[selected].clone();
        let (line, cursor) = replace_word(&text, found.start, found.end, &word);
        self.set_command_at(line, cursor);
        if found.words.len() > 1 {
            self.screen.completion = Some(CompletionMenu {
                start: found.start,
                end: found.start + word.chars().count(),
                candidates: found.words,
                selected,
            });
        }
    }

    /// Replaces the command bar's text, the cursor at `cursor` (in characters).
    pub(super) fn set_command_at(&mut self, text: String, cursor: usize) {
        self.editor = tui_textarea::TextArea::new(vec![text]);
        self.set_cursor(cursor);
    }

    /// Puts the command bar's cursor at `cursor` (in characters).
    pub(super) fn set_cursor(&mut self, cursor: usize) {
        let col = u16::try_from(cursor).unwrap_or(u16::MAX);
        self.editor
            .move_cursor(tui_textarea::CursorMove::Jump(0, col));
        self.sync_command();
    }

    /// Readline's keys the text field does otherwise: `ctrl-u` deletes to the start of the
    /// line (tui-textarea would undo), `ctrl-w` the word before the cursor up to a space
    /// (tui-textarea stops at `-`, which ids are full of), `alt-b`/`alt-f` move to the start of
    /// this or the previous word and to the end of this or the next one (tui-textarea's
    /// `alt-f` goes to the next word's start). True when the key was one of them.
    pub(super) fn readline(&mut self, key: KeyEvent) -> bool {
        let text = self.editor.lines().concat();
        let cursor = self.editor.cursor().1;
        let (line, at) = match (key.modifiers, key.code) {
            (KeyModifiers::CONTROL, KeyCode::Char('u')) => {
                (text.chars().skip(cursor).collect::<String>(), 0)
            }
            (KeyModifiers::CONTROL, KeyCode::Char('w')) => delete_word_back(&text, cursor),
            (KeyModifiers::ALT, KeyCode::Char('b')) => {
                let at = word_back(&text, cursor);
                (text, at)
            }
            (KeyModifiers::ALT, KeyCode::Char('f')) => {
                let at = word_forward(&text, cursor);
                (text, at)
            }
            _ => return false,
        };
        self.set_command_at(line, at);
        true
    }

    /// An answer too long for the command bar (many lines, or wider than it) as an overlay.
    pub(super) fn long_answer(&self, title: &str, message: &str) -> Option<Answer> {
        let width = match self.screen.size.width {
            0 => 80,
            w => usize::from(w),
        };
        let message = message.trim_end();
        let long = message.contains('\n') || message.chars().count() > width;
        long.then(|| Answer::new(title, message))
    }

    /// The answer overlay's keys: scrolling, and closing it.
    pub(super) fn on_answer_action(&mut self, action: Action) -> Vec<Intent> {
        let body = screen::areas(&self.screen, self.screen.size).map(|a| a.body);
        let Some(answer) = self.screen.answer.as_mut() else {
            return Vec::new();
        };
        let last = body.map_or(0, |b| answer.last_scroll(b));
        let at = answer.scroll.min(last);
        answer.scroll = match action {
            Action::Up => at.saturating_sub(1),
            Action::Down => (at + 1).min(last),
            Action::PageUp => at.saturating_sub(PAGE),
            Action::PageDown => (at + PAGE).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            Action::Back | Action::Cancel | Action::Quit | Action::Select => {
                self.screen.answer = None;
                return Vec::new();
            }
            Action::Help => {
                self.screen.help = true;
                return Vec::new();
            }
            _ => at,
        };
        Vec::new()
    }
}

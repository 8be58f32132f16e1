//! The keymap: which key does which [`Action`] in which [`Context`]. The defaults are
//! `config/keymap.toml`, embedded in the binary; a user's `.overlord/keymap.toml` overrides single
//! actions per context, and every problem in it is a located [`Warning`] (the default binding
//! stays for whatever was wrong). Footer hints and the help overlay are generated from here.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use toml::de::{DeTable, DeValue};

use super::warning::{read_user_file, Warning};

/// The default keymap.
pub const DEFAULT_KEYMAP: &str = include_str!("../../config/keymap.toml");
const DEFAULT_SHOWN: &str = "config/keymap.toml";

/// A layer of focus: the keys of the first active layer that binds a key win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    Confirm,
    Palette,
    Help,
    /// A long answer over the screen (`/help`, `/status`).
    Answer,
    Swarm,
    Concerns,
    Plan,
    Qa,
    Timeline,
    Activity,
    Diff,
    Metrics,
    Global,
}

impl Context {
    pub const ALL: [Context; 13] = [
        Context::Global,
        Context::Confirm,
        Context::Palette,
        Context::Help,
        Context::Answer,
        Context::Swarm,
        Context::Concerns,
        Context::Plan,
        Context::Qa,
        Context::Timeline,
        Context::Activity,
        Context::Diff,
        Context::Metrics,
    ];

    /// The table name in keymap files.
    pub fn name(self) -> &'static str {
        match self {
            Context::Confirm => "confirm",
            Context::Palette => "palette",
            Context::Help => "help",
            Context::Answer => "answer",
            Context::Swarm => "swarm",
            Context::Concerns => "concerns",
            Context::Plan => "plan",
            Context::Qa => "qa",
            Context::Timeline => "timeline",
            Context::Activity => "activity",
            Context::Diff => "diff",
            Context::Metrics => "metrics",
            Context::Global => "global",
        }
    }

    pub fn from_name(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }

    /// A modal layer captures the keyboard: keys it does not bind are not looked up in the
    /// layers under it (a confirmation must not quit on `q`; the palette's text field takes
    /// the characters).
    /// The help is modal too: no key reaches the pane behind it (its filter takes the letters).
    pub fn is_modal(self) -> bool {
        matches!(
            self,
            Context::Confirm | Context::Palette | Context::Help | Context::Answer
        )
    }
}

/// Everything a key can do. Each action knows its keymap name and its help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Quit,
    Help,
    Palette,
    FocusNext,
    FocusPrev,
    FocusSwarm,
    FocusConcerns,
    FocusPlan,
    FocusQa,
    FocusTimeline,
    FocusActivity,
    FocusDiff,
    FocusMetrics,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Select,
    Back,
    Save,
    Rollback,
    Confirm,
    Cancel,
    Approve,
    Reject,
    Ack,
    Resolve,
    Assign,
    Pause,
    Resume,
    Clarify,
    PauseAll,
    NextHunk,
    PrevHunk,
    NextFile,
    PrevFile,
    ToggleView,
    Filter,
    HistoryUp,
    HistoryDown,
    Complete,
    CompletePrev,
    OpenDiff,
    DiffIntegration,
    Mark,
    Reload,
    MetricsWindow,
    Search,
    ScrollLeft,
    ScrollRight,
    LineStart,
    Wrap,
}

impl Action {
    pub const ALL: [Action; 54] = [
        Action::Quit,
        Action::Help,
        Action::Palette,
        Action::FocusNext,
        Action::FocusPrev,
        Action::FocusSwarm,
        Action::FocusConcerns,
        Action::FocusPlan,
        Action::FocusQa,
        Action::FocusTimeline,
        Action::FocusActivity,
        Action::FocusDiff,
        Action::FocusMetrics,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Select,
        Action::Back,
        Action::Save,
        Action::Rollback,
        Action::Confirm,
        Action::Cancel,
        Action::Approve,
        Action::Reject,
        Action::Ack,
        Action::Resolve,
        Action::Assign,
        Action::Pause,
        Action::Resume,
        Action::Clarify,
        Action::PauseAll,
        Action::NextHunk,
        Action::PrevHunk,
        Action::NextFile,
        Action::PrevFile,
        Action::ToggleView,
        Action::Filter,
        Action::HistoryUp,
        Action::HistoryDown,
        Action::Complete,
        Action::CompletePrev,
        Action::OpenDiff,
        Action::DiffIntegration,
        Action::Mark,
        Action::Reload,
        Action::MetricsWindow,
        Action::Search,
        Action::ScrollLeft,
        Action::ScrollRight,
        Action::LineStart,
        Action::Wrap,
    ];

    /// The name in keymap files.
    pub fn name(self) -> &'static str {
        self.info().0
    }

    /// The short text of the footer hints and the help overlay.
    pub fn description(self) -> &'static str {
        self.info().1
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    fn info(self) -> (&'static str, &'static str) {
        match self {
            Action::Quit => ("quit", "quit"),
            Action::Help => ("help", "help"),
            Action::Palette => ("palette", "command bar"),
            Action::FocusNext => ("focus_next", "next pane"),
            Action::FocusPrev => ("focus_prev", "previous pane"),
            Action::FocusSwarm => ("focus_swarm", "swarm"),
            Action::FocusConcerns => ("focus_concerns", "concerns"),
            Action::FocusPlan => ("focus_plan", "plan"),
            Action::FocusQa => ("focus_qa", "QA"),
            Action::FocusTimeline => ("focus_timeline", "timeline"),
            Action::FocusActivity => ("focus_activity", "activity"),
            Action::FocusDiff => ("focus_diff", "diff"),
            Action::FocusMetrics => ("focus_metrics", "metrics"),
            Action::Up => ("up", "up"),
            Action::Down => ("down", "down"),
            Action::PageUp => ("page_up", "page up"),
            Action::PageDown => ("page_down", "page down"),
            Action::Top => ("top", "top"),
            Action::Bottom => ("bottom", "bottom"),
            Action::Select => ("select", "open"),
            Action::Back => ("back", "back"),
            Action::Save => ("save", "save"),
            Action::Rollback => ("rollback", "roll back to checkpoint"),
            Action::Confirm => ("confirm", "confirm"),
            Action::Cancel => ("cancel", "cancel"),
            Action::Approve => ("approve", "approve"),
            Action::Reject => ("reject", "reject"),
            Action::Ack => ("ack", "acknowledge"),
            Action::Resolve => ("resolve", "resolve"),
            Action::Assign => ("assign", "assign"),
            Action::Pause => ("pause", "pause agent"),
            Action::Resume => ("resume", "resume agent"),
            Action::Clarify => ("clarify", "ask to clarify"),
            Action::PauseAll => ("pause_all", "pause all"),
            Action::NextHunk => ("next_hunk", "next hunk"),
            Action::PrevHunk => ("prev_hunk", "previous hunk"),
            Action::NextFile => ("next_file", "next file"),
            Action::PrevFile => ("prev_file", "previous file"),
            Action::ToggleView => ("toggle_view", "unified / side by side"),
            Action::Filter => ("filter", "filter"),
            Action::HistoryUp => ("history_up", "older command"),
            Action::HistoryDown => ("history_down", "newer command"),
            Action::Complete => ("complete", "complete"),
            Action::CompletePrev => ("complete_prev", "previous completion"),
            Action::OpenDiff => ("diff", "show diff"),
            Action::DiffIntegration => ("diff_integration", "integration vs main"),
            Action::Mark => ("mark", "mark to compare"),
            Action::Reload => ("reload", "reload"),
            Action::MetricsWindow => ("window", "window 24h/7d/checkpoint/all"),
            Action::Search => ("search", "search"),
            Action::ScrollLeft => ("scroll_left", "scroll left"),
            Action::ScrollRight => ("scroll_right", "scroll right"),
            Action::LineStart => ("line_start", "line start"),
            Action::Wrap => ("wrap", "wrap long lines"),
        }
    }
}

/// A key as the keymap compares it: a code and its modifiers, with SHIFT folded into the
/// character (`S`, not `shift-s`) and into `backtab`, because terminals differ in whether they
/// report SHIFT for those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Key {
        let mut code = code;
        let mut modifiers = modifiers;
        match code {
            KeyCode::Char(c) => {
                if modifiers.contains(KeyModifiers::SHIFT) {
                    code = KeyCode::Char(c.to_ascii_uppercase());
                }
                modifiers.remove(KeyModifiers::SHIFT);
            }
            KeyCode::BackTab => modifiers.remove(KeyModifiers::SHIFT),
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
                code = KeyCode::BackTab;
                modifiers.remove(KeyModifiers::SHIFT);
            }
            _ => {}
        }
        Key { code, modifiers }
    }

    /// Parses a key spec: `"S"`, `"?"`, `"up"`, `"ctrl-c"`, `"alt-enter"`, `"shift-tab"`, `"f5"`.
    pub fn parse(spec: &str) -> Result<Key, String> {
        if spec.is_empty() {
            return Err("an empty key".into());
        }
        // The key is after the last '-', unless the key itself is '-' ("-", "ctrl--").
        let (mods, key) = if spec == "-" {
            ("", "-")
        } else if let Some(m) = spec.strip_suffix("--") {
            (m, "-")
        } else {
            match spec.rfind('-') {
                Some(i) => (&spec[..i], &spec[i + 1..]),
                None => ("", spec),
            }
        };
        let mut modifiers = KeyModifiers::NONE;
        if !mods.is_empty() {
            for m in mods.split('-') {
                modifiers |= match m.to_ascii_lowercase().as_str() {
                    "ctrl" | "control" => KeyModifiers::CONTROL,
                    "alt" => KeyModifiers::ALT,
                    "shift" => KeyModifiers::SHIFT,
                    _ => {
                        return Err(format!(
                            "'{spec}': unknown modifier '{m}' (ctrl, alt, shift)"
                        ))
                    }
                };
            }
        }
        let mut chars = key.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match key.to_ascii_lowercase().as_str() {
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "enter" => KeyCode::Enter,
                "esc" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" => KeyCode::Delete,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                "space" => KeyCode::Char(' '),
                f => match f.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=12) => KeyCode::F(n),
                    _ => {
                        return Err(format!(
                            "'{spec}': unknown key '{key}' (a character, or up, down, left, right, enter, esc, tab, backtab, backspace, delete, home, end, pageup, pagedown, space, f1-f12)"
                        ))
                    }
                },
            },
        };
        Ok(Key::new(code, modifiers))
    }

    /// The key event this key matches.
    pub fn event(self) -> KeyEvent {
        KeyEvent::new(self.code, self.modifiers)
    }
}

impl From<KeyEvent> for Key {
    fn from(e: KeyEvent) -> Key {
        Key::new(e.code, e.modifiers)
    }
}

/// Parses a key spec to the crossterm event it stands for.
pub fn parse_key(spec: &str) -> Result<KeyEvent, String> {
    Key::parse(spec).map(Key::event)
}

impl fmt::Display for Key {
    /// The key as keymap files write it (so hints show what the user would write).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, name) in [
            (KeyModifiers::CONTROL, "ctrl-"),
            (KeyModifiers::ALT, "alt-"),
            (KeyModifiers::SHIFT, "shift-"),
        ] {
            if self.modifiers.contains(bit) {
                f.write_str(name)?;
            }
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The bindings of every context: for each, the keys of each action.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<Context, BTreeMap<Action, Vec<Key>>>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap::defaults().0
    }
}

impl Keymap {
    /// The embedded default keymap, with any problems in it (the tests require none).
    pub fn defaults() -> (Keymap, Vec<Warning>) {
        let mut keymap = Keymap {
            bindings: BTreeMap::new(),
        };
        let warnings = keymap.apply(DEFAULT_KEYMAP, DEFAULT_SHOWN);
        (keymap, warnings)
    }

    /// The defaults with the user's file (shown in warnings as `shown`) over them. A missing
    /// file is no problem.
    pub fn load(user_file: &Path, shown: &str) -> (Keymap, Vec<Warning>) {
        match read_user_file(user_file, shown) {
            Ok(Some(text)) => Keymap::parse(&text, shown),
            Ok(None) => (Keymap::default(), Vec::new()),
            Err(w) => (Keymap::default(), vec![w]),
        }
    }

    /// A user keymap's text over the defaults (see [`Keymap::load`]).
    pub fn parse(text: &str, shown: &str) -> (Keymap, Vec<Warning>) {
        let mut keymap = Keymap::default();
        let warnings = keymap.apply(text, shown);
        (keymap, warnings)
    }

    /// The action of `key` in the first of `layers` that binds it, then in `global`. A modal
    /// layer ([`Context::is_modal`]) ends the search. A key release does nothing (terminals
    /// with enhanced keyboard reporting send both press and release).
    pub fn resolve(&self, layers: &[Context], key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let key = Key::from(key);
        for &context in layers.iter().chain([Context::Global].iter()) {
            if let Some(action) = self.action_in(context, key) {
                return Some(action);
            }
            if context.is_modal() {
                return None;
            }
        }
        None
    }

    /// The action `key` has in `context` itself (no fallback).
    pub fn action_in(&self, context: Context, key: Key) -> Option<Action> {
        self.bindings
            .get(&context)?
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(action, _)| *action)
    }

    /// The keys bound to `action` in `context`.
    pub fn keys(&self, context: Context, action: Action) -> &[Key] {
        self.bindings
            .get(&context)
            .and_then(|m| m.get(&action))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The footer hints of a context: its bound actions as ("keys", description), keys joined
    /// with '/', in the order of [`Action::ALL`].
    pub fn hints(&self, context: Context) -> Vec<(String, &'static str)> {
        let Some(actions) = self.bindings.get(&context) else {
            return Vec::new();
        };
        actions
            .iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(action, keys)| {
                let shown: Vec<String> = keys.iter().map(Key::to_string).collect();
                (shown.join("/"), action.description())
            })
            .collect()
    }

    /// The help overlay: the hints of every context that binds anything, global first.
    pub fn help(&self) -> Vec<(Context, Vec<(String, &'static str)>)> {
        Context::ALL
            .into_iter()
            .map(|c| (c, self.hints(c)))
            .filter(|(_, hints)| !hints.is_empty())
            .collect()
    }

    /// Applies a keymap file over the current bindings: each `action = [keys]` it names
    /// replaces that action's keys in that context, and takes those keys from any other action
    /// of the context. Whatever is wrong is a warning and leaves the binding as it was.
    fn apply(&mut self, text: &str, shown: &str) -> Vec<Warning> {
        let at = |span: Range<usize>, message: String| Warning::at(shown, text, span, message);
        let doc = match DeTable::parse(text) {
            Ok(doc) => doc,
            Err(e) => return vec![Warning::toml(shown, text, &e)],
        };
        let mut warnings = Vec::new();
        for (ctx_key, table) in doc.get_ref().iter() {
            let ctx_name = ctx_key.get_ref().as_ref();
            let Some(context) = Context::from_name(ctx_name) else {
                warnings.push(at(
                    ctx_key.span(),
                    format!(
                        "unknown context '{ctx_name}' (one of: {})",
                        Context::ALL.map(Context::name).join(", ")
                    ),
                ));
                continue;
            };
            let DeValue::Table(table) = table.get_ref() else {
                warnings.push(at(
                    table.span(),
                    format!("[{ctx_name}] must be a table of action = [\"key\", …]"),
                ));
                continue;
            };
            // Keys this file has already bound in this context, to catch a key given twice.
            let mut taken: BTreeMap<String, Action> = BTreeMap::new();
            // The table's entries in file order, so "bound twice" names the later one.
            let mut entries: Vec<_> = table.iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (action_key, value) in entries {
                let action_name = action_key.get_ref().as_ref();
                let Some(action) = Action::from_name(action_name) else {
                    warnings.push(at(
                        action_key.span(),
                        format!("[{ctx_name}] unknown action '{action_name}'"),
                    ));
                    continue;
                };
                let items: Vec<_> = match value.get_ref() {
                    DeValue::Array(items) => items.iter().collect(),
                    DeValue::String(_) => vec![value],
                    _ => {
                        warnings.push(at(
                            value.span(),
                            format!("[{ctx_name}] {action_name} must be a list of keys like [\"k\", \"up\"]"),
                        ));
                        continue;
                    }
                };
                let mut keys = Vec::new();
                let mut ok = true;
                for item in items {
                    let parsed = match item.get_ref().as_str() {
                        Some(spec) => Key::parse(spec),
                        None => Err("a key must be a string".to_string()),
                    };
                    match parsed {
                        Ok(key) => {
                            let shown_key = key.to_string();
                            match taken.get(&shown_key) {
                                Some(other) => {
                                    ok = false;
                                    warnings.push(at(
                                        item.span(),
                                        format!(
                                            "[{ctx_name}] key '{shown_key}' is bound twice ({} and {action_name})",
                                            other.name()
                                        ),
                                    ));
                                }
                                None => {
                                    if !keys.contains(&key) {
                                        keys.push(key);
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            ok = false;
                            warnings
                                .push(at(item.span(), format!("[{ctx_name}] {action_name}: {e}")));
                        }
                    }
                }
                if !ok {
                    continue;
                }
                for key in &keys {
                    taken.insert(key.to_string(), action);
                }
                let actions = self.bindings.entry(context).or_default();
                for (other, other_keys) in actions.iter_mut() {
                    if *other != action {
                        other_keys.retain(|k| !keys.contains(k));
                    }
                }
                actions.insert(action, keys);
            }
        }
        warnings.sort_by_key(|w| (w.line, w.column));
        warnings
    }
}

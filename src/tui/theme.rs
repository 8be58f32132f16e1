//! Themes: every colour the console shows comes from a semantic slot (`Slot::Running`,
//! `Slot::DiffAdd`, …) of the active theme; panes never name a colour. The built-in themes are
//! TOML files under `themes/`, embedded in the binary. A user's `.overlord/theme.toml` names a
//! built-in `base` and overrides any slots (and the syntax theme) over it; every problem in it is
//! a located [`Warning`] and the console still gets a complete theme.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::warning::{read_user_file, Warning};

/// The built-in dark theme (the default).
pub const DARK: &str = include_str!("../../themes/dark.toml");
/// The built-in light theme.
pub const LIGHT: &str = include_str!("../../themes/light.toml");
/// The built-in high-contrast theme (the 16 ANSI colours, bold and reversed).
pub const HIGH_CONTRAST: &str = include_str!("../../themes/high-contrast.toml");

/// The built-in themes by name, with their embedded files.
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", DARK),
    ("light", LIGHT),
    ("high-contrast", HIGH_CONTRAST),
];

/// The names of syntect's bundled syntax themes (what `syntax` may name).
pub fn syntax_theme_names() -> Vec<String> {
    syntect::highlighting::ThemeSet::load_defaults()
        .themes
        .into_keys()
        .collect()
}

/// The semantic colour slots. Their TOML names are the snake_case forms (`border_focused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    Text,
    Dim,
    Title,
    Border,
    BorderFocused,
    Selection,
    StatusBar,
    Hint,
    Key,
    Ok,
    Warn,
    Error,
    Critical,
    Info,
    Running,
    Waiting,
    Paused,
    RateLimited,
    Failed,
    Done,
    Stalled,
    DiffAdd,
    DiffDelete,
    DiffAddWord,
    DiffDeleteWord,
    DiffHunkHeader,
    DiffFileHeader,
    DiffContext,
    DiffAddBg,
    DiffDeleteBg,
    DiffAddWordBg,
    DiffDeleteWordBg,
    SearchMatch,
    SearchCurrent,
    LineNumber,
    GatePass,
    GateFail,
    GateNotMeasured,
    GateReported,
    Badge,
}

impl Slot {
    pub const ALL: [Slot; 40] = [
        Slot::Text,
        Slot::Dim,
        Slot::Title,
        Slot::Border,
        Slot::BorderFocused,
        Slot::Selection,
        Slot::StatusBar,
        Slot::Hint,
        Slot::Key,
        Slot::Ok,
        Slot::Warn,
        Slot::Error,
        Slot::Critical,
        Slot::Info,
        Slot::Running,
        Slot::Waiting,
        Slot::Paused,
        Slot::RateLimited,
        Slot::Failed,
        Slot::Done,
        Slot::Stalled,
        Slot::DiffAdd,
        Slot::DiffDelete,
        Slot::DiffAddWord,
        Slot::DiffDeleteWord,
        Slot::DiffHunkHeader,
        Slot::DiffFileHeader,
        Slot::DiffContext,
        Slot::DiffAddBg,
        Slot::DiffDeleteBg,
        Slot::DiffAddWordBg,
        Slot::DiffDeleteWordBg,
        Slot::SearchMatch,
        Slot::SearchCurrent,
        Slot::LineNumber,
        Slot::GatePass,
        Slot::GateFail,
        Slot::GateNotMeasured,
        Slot::GateReported,
        Slot::Badge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Slot::Text => "text",
            Slot::Dim => "dim",
            Slot::Title => "title",
            Slot::Border => "border",
            Slot::BorderFocused => "border_focused",
            Slot::Selection => "selection",
            Slot::StatusBar => "status_bar",
            Slot::Hint => "hint",
            Slot::Key => "key",
            Slot::Ok => "ok",
            Slot::Warn => "warn",
            Slot::Error => "error",
            Slot::Critical => "critical",
            Slot::Info => "info",
            Slot::Running => "running",
            Slot::Waiting => "waiting",
            Slot::Paused => "paused",
            Slot::RateLimited => "rate_limited",
            Slot::Failed => "failed",
            Slot::Done => "done",
            Slot::Stalled => "stalled",
            Slot::DiffAdd => "diff_add",
            Slot::DiffDelete => "diff_delete",
            Slot::DiffAddWord => "diff_add_word",
            Slot::DiffDeleteWord => "diff_delete_word",
            Slot::DiffHunkHeader => "diff_hunk_header",
            Slot::DiffFileHeader => "diff_file_header",
            Slot::DiffContext => "diff_context",
            Slot::DiffAddBg => "diff_add_bg",
            Slot::DiffDeleteBg => "diff_delete_bg",
            Slot::DiffAddWordBg => "diff_add_word_bg",
            Slot::DiffDeleteWordBg => "diff_delete_word_bg",
            Slot::SearchMatch => "search_match",
            Slot::SearchCurrent => "search_current",
            Slot::LineNumber => "line_number",
            Slot::GatePass => "gate_pass",
            Slot::GateFail => "gate_fail",
            Slot::GateNotMeasured => "gate_not_measured",
            Slot::GateReported => "gate_reported",
            Slot::Badge => "badge",
        }
    }

    pub fn from_name(name: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One slot as a theme file writes it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    pub fg: Option<String>,
    pub bg: Option<String>,
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub italic: bool,
    #[serde(default)]
    pub underline: bool,
    #[serde(default)]
    pub reversed: bool,
    #[serde(default)]
    pub dim: bool,
}

/// A theme file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    pub name: Option<String>,
    pub syntax: Option<String>,
    #[serde(default)]
    pub slots: BTreeMap<String, SlotSpec>,
}

/// A colour as theme files write it: a name, `#rrggbb`, or an ANSI index 0–255.
pub fn parse_color(text: &str) -> Result<Color, String> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
            return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return Err(format!("'{text}' is not a #rrggbb colour"));
    }
    if let Ok(n) = t.parse::<u8>() {
        return Ok(Color::Indexed(n));
    }
    Ok(
        match t.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
            "reset" => Color::Reset,
            "black" => Color::Black,
            "red" => Color::Red,
            "green" => Color::Green,
            "yellow" => Color::Yellow,
            "blue" => Color::Blue,
            "magenta" => Color::Magenta,
            "cyan" => Color::Cyan,
            "gray" | "grey" => Color::Gray,
            "darkgray" | "darkgrey" => Color::DarkGray,
            "lightred" => Color::LightRed,
            "lightgreen" => Color::LightGreen,
            "lightyellow" => Color::LightYellow,
            "lightblue" => Color::LightBlue,
            "lightmagenta" => Color::LightMagenta,
            "lightcyan" => Color::LightCyan,
            "white" => Color::White,
            _ => {
                return Err(format!(
                    "unknown colour '{text}' (a name, #rrggbb or 0-255)"
                ))
            }
        },
    )
}

impl SlotSpec {
    pub fn style(&self) -> Result<Style, String> {
        let mut s = Style::default();
        if let Some(fg) = &self.fg {
            s = s.fg(parse_color(fg)?);
        }
        if let Some(bg) = &self.bg {
            s = s.bg(parse_color(bg)?);
        }
        let mut m = Modifier::empty();
        for (on, bit) in [
            (self.bold, Modifier::BOLD),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
            (self.dim, Modifier::DIM),
        ] {
            if on {
                m |= bit;
            }
        }
        Ok(s.add_modifier(m))
    }
}

/// The active theme: a style for every slot, and the syntax theme's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// The syntect theme of the diff viewer.
    pub syntax: String,
    styles: BTreeMap<Slot, Style>,
}

impl Theme {
    /// The style of a slot (a slot a theme leaves out is plain text).
    pub fn style(&self, slot: Slot) -> Style {
        self.styles.get(&slot).copied().unwrap_or_default()
    }

    /// A theme from a complete theme file; every problem is returned.
    pub fn from_file(file: &ThemeFile) -> Result<Theme, Vec<String>> {
        let mut errors = Vec::new();
        let mut styles = BTreeMap::new();
        for (name, spec) in &file.slots {
            match Slot::from_name(name) {
                Some(slot) => match spec.style() {
                    Ok(s) => {
                        styles.insert(slot, s);
                    }
                    Err(e) => errors.push(format!("slots.{name}: {e}")),
                },
                None => errors.push(format!("slots.{name}: no such slot")),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Theme {
            name: file.name.clone().unwrap_or_else(|| "custom".into()),
            syntax: file
                .syntax
                .clone()
                .unwrap_or_else(|| "base16-ocean.dark".into()),
            styles,
        })
    }

    /// The built-in dark theme.
    pub fn dark() -> Theme {
        Theme::builtin("dark").unwrap_or_else(|| Theme::empty("dark"))
    }

    /// A built-in theme by name (`dark`, `light`, `high-contrast`).
    pub fn builtin(name: &str) -> Option<Theme> {
        Theme::builtin_checked(name).map(|(theme, _)| theme)
    }

    /// A built-in theme with the problems in its embedded file (the tests require none).
    pub fn builtin_checked(name: &str) -> Option<(Theme, Vec<Warning>)> {
        let (name, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        let shown = format!("themes/{name}.toml");
        Some(overlay(Theme::empty(name), text, &shown, Source::Builtin))
    }

    /// Whether this theme gives `slot` a style of its own.
    pub fn defines(&self, slot: Slot) -> bool {
        self.styles.contains_key(&slot)
    }

    /// The user's theme file (shown in warnings as `shown`) over its `base` (dark when it names
    /// none). A missing file is the dark theme with no warning; every problem is a warning, and
    /// whatever was wrong stays as the base has it.
    pub fn load(user_file: &Path, shown: &str) -> (Theme, Vec<Warning>) {
        match read_user_file(user_file, shown) {
            Ok(Some(text)) => Theme::parse(&text, shown),
            Ok(None) => (Theme::dark(), Vec::new()),
            Err(w) => (Theme::dark(), vec![w]),
        }
    }

    /// A user theme's text over its base (see [`Theme::load`]).
    pub fn parse(text: &str, shown: &str) -> (Theme, Vec<Warning>) {
        overlay(Theme::dark(), text, shown, Source::User)
    }

    fn empty(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            syntax: "base16-ocean.dark".into(),
            styles: BTreeMap::new(),
        }
    }
}

/// The dark terminal backgrounds a theme that keeps the terminal's own (its `text` slot sets
/// no background) is drawn for: from black to One Dark's `#282c34`.
pub const DARK_TERMINALS: [Color; 2] = [Color::Rgb(0, 0, 0), Color::Rgb(0x28, 0x2c, 0x34)];

/// One foreground/background pair a theme can put on screen, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub what: String,
    pub fg: Color,
    pub bg: Color,
    /// A border is a graphic, not text: WCAG asks 3:1 of it, 4.5:1 of text.
    pub text: bool,
}

impl Theme {
    /// The backgrounds the theme is drawn on: its own (the `text` slot's, painted under
    /// everything by [`Theme::paint_defaults`]) or, keeping the terminal's, [`DARK_TERMINALS`].
    pub fn backgrounds(&self) -> Vec<Color> {
        match self.style(Slot::Text).bg {
            Some(bg) if bg != Color::Reset => vec![bg],
            _ => DARK_TERMINALS.to_vec(),
        }
    }

    /// Every foreground/background pair the theme can produce: each slot on each background,
    /// and each slot in a selected row (over `selection`), a reversed style swapped.
    pub fn pairs(&self) -> Vec<Pair> {
        let text = self.style(Slot::Text);
        let selection = self.style(Slot::Selection);
        let mut out = Vec::new();
        for bg in self.backgrounds() {
            let base = Style::default().fg(text.fg.unwrap_or(Color::White)).bg(bg);
            for slot in Slot::ALL {
                let border = matches!(slot, Slot::Border | Slot::BorderFocused);
                for selected in [false, true] {
                    if selected && border {
                        continue;
                    }
                    let mut s = base;
                    if selected {
                        s = s.patch(selection);
                    }
                    let s = s.patch(self.style(slot));
                    let (fg, bg_now) = (s.fg.unwrap_or(Color::Reset), s.bg.unwrap_or(bg));
                    let (fg, bg_now) = if s.add_modifier.contains(Modifier::REVERSED) {
                        (bg_now, fg)
                    } else {
                        (fg, bg_now)
                    };
                    out.push(Pair {
                        what: format!(
                            "{}{} on {bg:?}",
                            slot.name(),
                            if selected { " (selected)" } else { "" }
                        ),
                        fg,
                        bg: bg_now,
                        text: !border,
                    });
                }
            }
        }
        out
    }

    /// Under a theme with its own background, every cell of `area` still on the terminal's
    /// default colours takes the theme's (text colour, background): what widgets clear or
    /// leave blank reads the same as the rest, on any terminal.
    pub fn paint_defaults(&self, area: ratatui::layout::Rect, buf: &mut ratatui::buffer::Buffer) {
        let text = self.style(Slot::Text);
        let (Some(fg), Some(bg)) = (text.fg, text.bg) else {
            return;
        };
        if bg == Color::Reset {
            return;
        }
        let area = area.intersection(buf.area);
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                if let Some(cell) = buf.cell_mut((x, y)) {
                    if cell.bg == Color::Reset {
                        cell.bg = bg;
                    }
                    if cell.fg == Color::Reset {
                        cell.fg = fg;
                    }
                }
            }
        }
    }
}

/// A colour as red, green and blue: the 16 named colours as xterm's default palette shows them,
/// the 256 indexed ones as xterm's cube and grey ramp; `None` for the terminal's default.
pub fn rgb(c: Color) -> Option<(u8, u8, u8)> {
    const NAMED: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let index = match c {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(i) => i,
    };
    Some(match index {
        0..=15 => NAMED[usize::from(index)],
        16..=231 => {
            let i = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (index - 232) * 10;
            (v, v, v)
        }
    })
}

/// WCAG's contrast ratio of two colours (1 to 21), from their relative luminance.
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let luminance = |(r, g, b): (u8, u8, u8)| {
        let channel = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    };
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Whether a theme file is one of ours (no `base`, syntax names checked by the tests) or the
/// user's.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    Builtin,
    User,
}

/// Applies a theme file's text over `base`, collecting every problem with its place.
fn overlay(base: Theme, text: &str, shown: &str, source: Source) -> (Theme, Vec<Warning>) {
    let mut warnings = Vec::new();
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => return (base, vec![Warning::toml(shown, text, &e)]),
    };
    let at = |span: Range<usize>, message: String| Warning::at(shown, text, span, message);
    let doc = doc.get_ref();

    // The base first: every other key applies over it.
    let mut theme = base;
    if source == Source::User {
        if let Some(value) = find(doc, "base") {
            match value.get_ref().as_str() {
                Some(name) => match Theme::builtin(name) {
                    Some(t) => theme = t,
                    None => warnings.push(at(
                        value.span(),
                        format!(
                            "unknown base theme '{name}' (one of: {}); using dark",
                            builtin_names()
                        ),
                    )),
                },
                None => warnings.push(at(
                    value.span(),
                    "base must be a string (dark, light or high-contrast)".into(),
                )),
            }
        }
    }

    for (key, value) in doc.iter() {
        match key.get_ref().as_ref() {
            "base" if source == Source::User => {}
            "name" => match value.get_ref().as_str() {
                Some(n) => theme.name = n.to_string(),
                None => warnings.push(at(value.span(), "name must be a string".into())),
            },
            "syntax" => match value.get_ref().as_str() {
                Some(n) if source == Source::Builtin => theme.syntax = n.to_string(),
                Some(n) => {
                    let known = syntax_theme_names();
                    if known.iter().any(|k| k == n) {
                        theme.syntax = n.to_string();
                    } else {
                        warnings.push(at(
                            value.span(),
                            format!("unknown syntax theme '{n}' (one of: {})", known.join(", ")),
                        ));
                    }
                }
                None => warnings.push(at(value.span(), "syntax must be a string".into())),
            },
            "slots" => match value.get_ref() {
                DeValue::Table(slots) => {
                    for (slot_key, spec) in slots.iter() {
                        let slot_name = slot_key.get_ref().as_ref();
                        match Slot::from_name(slot_name) {
                            Some(slot) => {
                                if let Some(style) = slot_style(spec, slot_name, &at, &mut warnings)
                                {
                                    theme.styles.insert(slot, style);
                                }
                            }
                            None => warnings.push(at(
                                slot_key.span(),
                                format!("slots.{slot_name}: no such slot"),
                            )),
                        }
                    }
                }
                _ => warnings.push(at(value.span(), "slots must be a table".into())),
            },
            other => {
                let allowed = match source {
                    Source::User => "base, name, syntax, slots",
                    Source::Builtin => "name, syntax, slots",
                };
                warnings.push(at(
                    key.span(),
                    format!("unknown key '{other}' (expected one of: {allowed})"),
                ));
            }
        }
    }
    warnings.sort_by_key(|w| (w.line, w.column));
    (theme, warnings)
}

fn builtin_names() -> String {
    BUILTIN.map(|(n, _)| n).join(", ")
}

fn find<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// One slot's style, or `None` (with warnings) when anything in it is wrong: a slot is applied
/// whole or not at all, so a half-read slot never mixes with the base's.
fn slot_style(
    spec: &Spanned<DeValue<'_>>,
    slot_name: &str,
    at: &impl Fn(Range<usize>, String) -> Warning,
    warnings: &mut Vec<Warning>,
) -> Option<Style> {
    let DeValue::Table(fields) = spec.get_ref() else {
        warnings.push(at(
            spec.span(),
            format!("slots.{slot_name} must be a table like {{ fg = \"red\", bold = true }}"),
        ));
        return None;
    };
    let before = warnings.len();
    let mut style = Style::default();
    for (field, value) in fields.iter() {
        let field_name = field.get_ref().as_ref();
        match field_name {
            "fg" | "bg" => match value.get_ref().as_str().map(parse_color) {
                Some(Ok(c)) if field_name == "fg" => style = style.fg(c),
                Some(Ok(c)) => style = style.bg(c),
                Some(Err(e)) => warnings.push(at(value.span(), format!("slots.{slot_name}.{field_name}: {e}"))),
                None => warnings.push(at(
                    value.span(),
                    format!("slots.{slot_name}.{field_name} must be a colour string"),
                )),
            },
            "bold" | "italic" | "underline" | "reversed" | "dim" => match value.get_ref().as_bool() {
                Some(on) => {
                    let bit = match field_name {
                        "bold" => Modifier::BOLD,
                        "italic" => Modifier::ITALIC,
                        "underline" => Modifier::UNDERLINED,
                        "reversed" => Modifier::REVERSED,
                        _ => Modifier::DIM,
                    };
                    if on {
                        style = style.add_modifier(bit);
                    }
                }
                None => warnings.push(at(
                    value.span(),
                    format!("slots.{slot_name}.{field_name} must be true or false"),
                )),
            },
            other => warnings.push(at(
                field.span(),
                format!(
                    "slots.{slot_name}: unknown field '{other}' (fg, bg, bold, italic, underline, reversed, dim)"
                ),
            )),
        }
    }
    (warnings.len() == before).then_some(style)
}

impl Default for Theme {
    fn default() -> Theme {
        Theme::dark()
    }
}

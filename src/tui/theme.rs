//! Themes: every colour the console shows comes from a semantic slot (`Slot::Running`,
//! `Slot::DiffAdd`, …) of the active theme; panes never name a colour. The built-in themes are
//! TOML files under `themes/`, embedded in the binary.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The built-in dark theme (the default).
pub const DARK: &str = include_str!("../../themes/dark.toml");

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
    LineNumber,
    GatePass,
    GateFail,
    GateNotMeasured,
    GateReported,
    Badge,
}

impl Slot {
    pub const ALL: [Slot; 34] = [
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
        let file: ThemeFile = toml::from_str(DARK).unwrap_or_default();
        Theme::from_file(&file).unwrap_or(Theme {
            name: "dark".into(),
            syntax: "base16-ocean.dark".into(),
            styles: BTreeMap::new(),
        })
    }
}

impl Default for Theme {
    fn default() -> Theme {
        Theme::dark()
    }
}

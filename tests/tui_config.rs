//! Themes: the built-in files are complete and clean, user files merge over them, and every
//! bad input is a warning at its file, line and column with a working result.

use overlord::tui::theme::{syntax_theme_names, Slot, Theme, BUILTIN};
use overlord::tui::Warning;
use ratatui::style::{Color, Modifier};

fn user_theme(text: &str) -> (Theme, Vec<Warning>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theme.toml");
    std::fs::write(&path, text).unwrap();
    Theme::load(&path, ".overlord/theme.toml")
}

fn shown(warnings: &[Warning]) -> Vec<String> {
    warnings.iter().map(Warning::to_string).collect()
}

// ---- themes ----

#[test]
fn every_builtin_theme_defines_every_slot_with_an_existing_syntax_theme() {
    let syntax = syntax_theme_names();
    assert_eq!(BUILTIN.len(), 3);
    for (name, _) in BUILTIN {
        let (theme, warnings) = Theme::builtin_checked(name).unwrap();
        assert!(
            warnings.is_empty(),
            "themes/{name}.toml: {:?}",
            shown(&warnings)
        );
        assert_eq!(theme.name, name);
        for slot in Slot::ALL {
            assert!(
                theme.defines(slot),
                "themes/{name}.toml has no {}",
                slot.name()
            );
        }
        assert!(
            syntax.contains(&theme.syntax),
            "{name}: syntax theme '{}' is not one of syntect's {syntax:?}",
            theme.syntax
        );
        assert_ne!(theme.style(Slot::DiffAdd), theme.style(Slot::DiffDelete));
        assert_ne!(theme.style(Slot::Text), theme.style(Slot::Dim));
    }
    assert!(Theme::builtin("sepia").is_none());
    assert_eq!(Theme::builtin("dark").unwrap(), Theme::dark());
}

#[test]
fn high_contrast_uses_only_the_sixteen_ansi_colours() {
    let theme = Theme::builtin("high-contrast").unwrap();
    for slot in Slot::ALL {
        let style = theme.style(slot);
        for c in [style.fg, style.bg].into_iter().flatten() {
            assert!(
                !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                "{}: {c:?} is not one of the 16 ANSI colours",
                slot.name()
            );
        }
    }
    assert!(theme
        .style(Slot::Selection)
        .add_modifier
        .contains(Modifier::REVERSED));
}

#[test]
fn a_missing_user_theme_is_dark_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let (theme, warnings) = Theme::load(&dir.path().join("nope.toml"), ".overlord/theme.toml");
    assert!(warnings.is_empty());
    assert_eq!(theme, Theme::dark());
}

#[test]
fn a_user_theme_merges_over_its_base() {
    let (theme, warnings) = user_theme(
        "base = \"light\"\nname = \"mine\"\nsyntax = \"Solarized (light)\"\n[slots]\nrunning = { fg = \"#112233\", italic = true }\n",
    );
    assert!(warnings.is_empty(), "{:?}", shown(&warnings));
    let light = Theme::builtin("light").unwrap();
    assert_eq!(theme.name, "mine");
    assert_eq!(theme.syntax, "Solarized (light)");
    let running = theme.style(Slot::Running);
    assert_eq!(running.fg, Some(Color::Rgb(0x11, 0x22, 0x33)));
    assert!(running.add_modifier.contains(Modifier::ITALIC));
    // The whole slot is the user's: light's bold is not mixed in.
    assert!(!running.add_modifier.contains(Modifier::BOLD));
    for slot in Slot::ALL.into_iter().filter(|s| *s != Slot::Running) {
        assert_eq!(theme.style(slot), light.style(slot), "{}", slot.name());
    }
    // No base is dark.
    let (theme, warnings) = user_theme("[slots]\ntext = { fg = \"red\" }\n");
    assert!(warnings.is_empty());
    assert_eq!(theme.style(Slot::Text).fg, Some(Color::Red));
    assert_eq!(theme.style(Slot::Dim), Theme::dark().style(Slot::Dim));
}

#[test]
fn bad_toml_in_a_theme_is_located_and_the_console_gets_dark() {
    let (theme, warnings) = user_theme("base = \"light\"\n[slots\ntext = 1\n");
    assert_eq!(warnings.len(), 1, "{:?}", shown(&warnings));
    let w = &warnings[0];
    assert_eq!((w.file.as_str(), w.line), (".overlord/theme.toml", 2));
    assert!(w.column >= 1);
    assert_eq!(theme, Theme::dark());
}

#[test]
fn each_bad_theme_value_is_located_and_the_rest_still_applies() {
    let text = "base = \"light\"\n\
                colour = \"x\"\n\
                [slots]\n\
                text = { fg = \"#12345\" }\n\
                nope = { fg = \"red\" }\n\
                dim = { fg = \"red\", blink = true }\n\
                title = \"red\"\n\
                ok = { fg = \"#00ff00\" }\n\
                warn = { bold = \"yes\" }\n";
    let (theme, warnings) = user_theme(text);
    let light = Theme::builtin("light").unwrap();
    assert_eq!(
        shown(&warnings),
        vec![
            ".overlord/theme.toml:2:1: unknown key 'colour' (expected one of: base, name, syntax, slots)",
            ".overlord/theme.toml:4:15: slots.text.fg: '#12345' is not a #rrggbb colour",
            ".overlord/theme.toml:5:1: slots.nope: no such slot",
            ".overlord/theme.toml:6:21: slots.dim: unknown field 'blink' (fg, bg, bold, italic, underline, reversed, dim)",
            ".overlord/theme.toml:7:9: slots.title must be a table like { fg = \"red\", bold = true }",
            ".overlord/theme.toml:9:17: slots.warn.bold must be true or false",
        ]
    );
    // The bad slots stay the base's; the good one applies.
    for slot in [Slot::Text, Slot::Dim, Slot::Title, Slot::Warn] {
        assert_eq!(theme.style(slot), light.style(slot), "{}", slot.name());
    }
    assert_eq!(theme.style(Slot::Ok).fg, Some(Color::Rgb(0, 0xff, 0)));
}

#[test]
fn an_unknown_base_or_syntax_theme_is_located() {
    let (theme, warnings) = user_theme("base = \"sepia\"\nsyntax = \"Monokai Pro\"\n");
    let w = shown(&warnings);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with(".overlord/theme.toml:1:8: unknown base theme 'sepia'"),
        "{w:?}"
    );
    assert!(
        w[1].starts_with(".overlord/theme.toml:2:10: unknown syntax theme 'Monokai Pro'"),
        "{w:?}"
    );
    assert!(
        w[1].contains("InspiredGitHub"),
        "the known names are listed: {w:?}"
    );
    assert_eq!(theme, Theme::dark());
}

#[test]
fn an_unreadable_theme_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be read as a file.
    let (theme, warnings) = Theme::load(dir.path(), ".overlord/theme.toml");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0]
        .to_string()
        .starts_with(".overlord/theme.toml:0:0: cannot be read"));
    assert_eq!(theme, Theme::dark());
}

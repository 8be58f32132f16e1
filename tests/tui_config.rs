//! Themes and keymaps: the built-in files are complete and clean, user files merge over them,
//! and every bad input is a warning at its file, line and column with a working result.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use overlord::tui::keymap::{parse_key, Action, Context, Key, Keymap};
use overlord::tui::theme::{syntax_theme_names, Slot, Theme, BUILTIN};
use overlord::tui::Warning;
use ratatui::style::{Color, Modifier};

fn user_theme(text: &str) -> (Theme, Vec<Warning>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theme.toml");
    std::fs::write(&path, text).unwrap();
    Theme::load(&path, ".overlord/theme.toml")
}

fn user_keymap(text: &str) -> (Keymap, Vec<Warning>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keymap.toml");
    std::fs::write(&path, text).unwrap();
    Keymap::load(&path, ".overlord/keymap.toml")
}

fn shown(warnings: &[Warning]) -> Vec<String> {
    warnings.iter().map(Warning::to_string).collect()
}

fn key(spec: &str) -> KeyEvent {
    parse_key(spec).unwrap()
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
fn high_contrast_is_exact_colours_on_its_own_black() {
    // Exact colours (not the terminal's ANSI palette), so its contrast is what
    // tests/tui_theme.rs computes, on a black it paints itself.
    let theme = Theme::builtin("high-contrast").unwrap();
    assert_eq!(theme.style(Slot::Text).bg, Some(Color::Rgb(0, 0, 0)));
    assert_eq!(theme.style(Slot::Text).fg, Some(Color::Rgb(255, 255, 255)));
    for slot in Slot::ALL {
        let style = theme.style(slot);
        for c in [style.fg, style.bg].into_iter().flatten() {
            assert!(matches!(c, Color::Rgb(..)), "{}: {c:?}", slot.name());
        }
    }
    assert!(theme
        .style(Slot::Selection)
        .add_modifier
        .contains(Modifier::REVERSED));
}

/// `/theme <name> --save` edits only the theme line of `.overlord/config.toml`: comments,
/// order and every other setting stay; a missing line or table is added; a file that does not
/// parse is not touched.
#[test]
fn saving_the_theme_edits_only_its_line() {
    use overlord::config::{save_console_theme, with_console_theme, Config};
    let file = "# my settings\n[agents]\nconcurrency = 3 # three at once\n\n[console]\nbell = false\ntheme = \"dark\" # was dark\ndesktop_notifications = false\n\n[git]\nmain = \"trunk\"\n";
    let edited = with_console_theme(file, "light");
    assert_eq!(
        edited,
        file.replace(
            "theme = \"dark\" # was dark",
            "theme = \"light\" # was dark"
        )
    );
    // No theme line: added under [console]; no [console]: added at the end.
    let no_line = "[console]\nbell = false\n[git]\nmain = \"trunk\"\n";
    assert_eq!(
        with_console_theme(no_line, "high-contrast"),
        "[console]\ntheme = \"high-contrast\"\nbell = false\n[git]\nmain = \"trunk\"\n"
    );
    assert_eq!(
        with_console_theme("[git]\nmain = \"trunk\"", "light"),
        "[git]\nmain = \"trunk\"\n\n[console]\ntheme = \"light\"\n"
    );
    // A `theme` key elsewhere (another table) is not the console's.
    let other = "[console]\nbell = true\n[adapters.x]\ntheme = \"dark\"\n";
    assert!(with_console_theme(other, "light").contains("[console]\ntheme = \"light\"\nbell"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, file).unwrap();
    save_console_theme(&path, "light").unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, edited);
    let (config, warning) = Config::load(&path, "config.toml");
    assert!(warning.is_none());
    assert_eq!(config.console.theme, "light");
    assert_eq!(config.agents.concurrency, 3);
    assert!(!config.console.bell);
    // A missing file gets just the setting.
    let fresh = dir.path().join("fresh.toml");
    save_console_theme(&fresh, "dark").unwrap();
    assert_eq!(Config::load(&fresh, "x").0.console.theme, "dark");
    // A file that does not parse is left as it is, with a clear error.
    std::fs::write(&path, "[console\ntheme = ").unwrap();
    let err = save_console_theme(&path, "light").unwrap_err();
    assert!(err.contains("does not parse"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[console\ntheme = "
    );
    // An inline [console] cannot be edited by line: refused, nothing written.
    std::fs::write(&path, "console = { bell = false }\n").unwrap();
    let err = save_console_theme(&path, "light").unwrap_err();
    assert!(err.contains("by hand"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "console = { bell = false }\n"
    );
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
    assert_eq!(w.column, 7, "just after `[slots`: {w}");
    assert!(w.message.contains("unclosed table"), "{w}");
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

// ---- keymap ----

#[test]
fn the_default_keymap_parses_binds_every_action_and_no_key_twice() {
    let (keymap, warnings) = Keymap::defaults();
    assert!(warnings.is_empty(), "{:?}", shown(&warnings));
    for action in Action::ALL {
        assert!(
            Context::ALL
                .into_iter()
                .any(|c| !keymap.keys(c, action).is_empty()),
            "{} is bound nowhere",
            action.name()
        );
        assert!(!action.description().is_empty());
        assert_eq!(Action::from_name(action.name()), Some(action));
    }
    for context in Context::ALL {
        assert_eq!(Context::from_name(context.name()), Some(context));
        let mut seen = BTreeSet::new();
        for action in Action::ALL {
            for k in keymap.keys(context, action) {
                assert!(
                    seen.insert(k.to_string()),
                    "[{}] {k} is bound twice",
                    context.name()
                );
            }
        }
    }
    let names: BTreeSet<_> = Action::ALL.map(Action::name).into_iter().collect();
    assert_eq!(names.len(), Action::ALL.len(), "action names are unique");
}

#[test]
fn key_specs_parse_to_key_events() {
    let cases = [
        ("q", KeyCode::Char('q'), KeyModifiers::NONE),
        ("S", KeyCode::Char('S'), KeyModifiers::NONE),
        ("shift-s", KeyCode::Char('S'), KeyModifiers::NONE),
        ("ctrl-c", KeyCode::Char('c'), KeyModifiers::CONTROL),
        ("alt-enter", KeyCode::Enter, KeyModifiers::ALT),
        (
            "ctrl-alt-delete",
            KeyCode::Delete,
            KeyModifiers::CONTROL | KeyModifiers::ALT,
        ),
        ("shift-tab", KeyCode::BackTab, KeyModifiers::NONE),
        ("backtab", KeyCode::BackTab, KeyModifiers::NONE),
        ("pagedown", KeyCode::PageDown, KeyModifiers::NONE),
        ("space", KeyCode::Char(' '), KeyModifiers::NONE),
        ("f12", KeyCode::F(12), KeyModifiers::NONE),
        ("-", KeyCode::Char('-'), KeyModifiers::NONE),
        ("ctrl--", KeyCode::Char('-'), KeyModifiers::CONTROL),
        ("?", KeyCode::Char('?'), KeyModifiers::NONE),
    ];
    for (spec, code, modifiers) in cases {
        assert_eq!(
            parse_key(spec),
            Ok(KeyEvent::new(code, modifiers)),
            "{spec}"
        );
        // What a key shows as parses back to the same key.
        let k = Key::parse(spec).unwrap();
        assert_eq!(Key::parse(&k.to_string()), Ok(k), "{spec}");
    }
    for bad in ["", "f13", "hyper-x", "ctrl-", "pgup"] {
        assert!(parse_key(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn resolve_looks_up_layers_in_order_then_global() {
    let keymap = Keymap::default();
    // Pane shadows global: `r` is resume in the swarm, resolve in concerns, nothing globally.
    assert_eq!(
        keymap.resolve(&[Context::Swarm], key("r")),
        Some(Action::Resume)
    );
    assert_eq!(
        keymap.resolve(&[Context::Concerns], key("r")),
        Some(Action::Resolve)
    );
    assert_eq!(keymap.resolve(&[Context::Global], key("r")), None);
    // Falls back to global.
    assert_eq!(
        keymap.resolve(&[Context::Diff], key("S")),
        Some(Action::Save)
    );
    assert_eq!(
        keymap.resolve(&[Context::Diff], key("down")),
        Some(Action::Down)
    );
    // Terminals report an upper-case letter with SHIFT; it is the same key.
    let shifted = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
    assert_eq!(
        keymap.resolve(&[Context::Swarm], shifted),
        Some(Action::Save)
    );
    // A release is not a second press.
    let mut released = key("S");
    released.kind = KeyEventKind::Release;
    assert_eq!(keymap.resolve(&[Context::Swarm], released), None);
    // Help shadows the pane and global: q closes help rather than quitting.
    assert_eq!(
        keymap.resolve(&[Context::Help, Context::Swarm], key("q")),
        Some(Action::Back)
    );
    assert_eq!(
        keymap.resolve(&[Context::Swarm], key("q")),
        Some(Action::Quit)
    );
    // And help is modal: a key it does not bind never reaches the pane or global.
    assert_eq!(
        keymap.resolve(&[Context::Help, Context::Swarm], key("3")),
        None
    );
    // Confirm shadows the pane, and is modal: keys it does not bind do nothing.
    let layers = [Context::Confirm, Context::Timeline];
    assert_eq!(keymap.resolve(&layers, key("y")), Some(Action::Confirm));
    assert_eq!(keymap.resolve(&layers, key("esc")), Some(Action::Cancel));
    assert_eq!(keymap.resolve(&layers, key("R")), None);
    assert_eq!(keymap.resolve(&layers, key("q")), None);
    assert_eq!(
        keymap.resolve(&[Context::Timeline], key("R")),
        Some(Action::Rollback)
    );
    // The palette takes typed characters.
    assert_eq!(keymap.resolve(&[Context::Palette], key("q")), None);
    assert_eq!(
        keymap.resolve(&[Context::Palette], key("up")),
        Some(Action::HistoryUp)
    );
}

#[test]
fn a_user_keymap_overrides_single_actions() {
    let (keymap, warnings) =
        user_keymap("[global]\nsave = [\"ctrl-s\"]\ndown = [\"down\"]\nfocus_next = [\"j\"]\n[diff]\nnext_hunk = \"space\"\n");
    assert!(warnings.is_empty(), "{:?}", shown(&warnings));
    assert_eq!(
        keymap.resolve(&[Context::Swarm], key("ctrl-s")),
        Some(Action::Save)
    );
    assert_eq!(keymap.resolve(&[Context::Swarm], key("S")), None);
    assert_eq!(
        keymap.resolve(&[Context::Swarm], key("j")),
        Some(Action::FocusNext)
    );
    assert_eq!(
        keymap.resolve(&[Context::Diff], key("space")),
        Some(Action::NextHunk)
    );
    assert_eq!(keymap.resolve(&[Context::Diff], key("n")), None);
    // Untouched bindings stay.
    assert_eq!(
        keymap.resolve(&[Context::Swarm], key("q")),
        Some(Action::Quit)
    );
    assert_eq!(
        keymap.resolve(&[Context::Swarm], key("k")),
        Some(Action::Up)
    );
}

#[test]
fn a_user_key_takes_the_key_from_another_action_of_its_context() {
    let (keymap, warnings) = user_keymap("[global]\nsave = [\"j\"]\n");
    assert!(warnings.is_empty(), "{:?}", shown(&warnings));
    assert_eq!(keymap.resolve(&[], key("j")), Some(Action::Save));
    assert_eq!(
        keymap.keys(Context::Global, Action::Down),
        &[Key::parse("down").unwrap()]
    );
}

#[test]
fn each_bad_keymap_input_is_located_and_the_default_stays() {
    let text = "[global]\n\
                save = [\"ctrl-s\", \"hyper-x\"]\n\
                frobnicate = [\"z\"]\n\
                quit = [\"Q\"]\n\
                help = [\"Q\"]\n\
                up = 3\n\
                [sidebar]\n\
                up = [\"k\"]\n\
                [diff]\n\
                next_hunk = [\"f13\"]\n";
    let (keymap, warnings) = user_keymap(text);
    let w = shown(&warnings);
    assert_eq!(w.len(), 6, "{w:?}");
    assert!(
        w[0].starts_with(
            ".overlord/keymap.toml:2:19: [global] save: 'hyper-x': unknown modifier 'hyper'"
        ),
        "{w:?}"
    );
    assert_eq!(
        w[1],
        ".overlord/keymap.toml:3:1: [global] unknown action 'frobnicate'"
    );
    assert_eq!(
        w[2],
        ".overlord/keymap.toml:5:9: [global] key 'Q' is bound twice (quit and help)"
    );
    assert_eq!(
        w[3],
        ".overlord/keymap.toml:6:6: [global] up must be a list of keys like [\"k\", \"up\"]"
    );
    assert!(
        w[4].starts_with(".overlord/keymap.toml:7:2: unknown context 'sidebar'"),
        "{w:?}"
    );
    assert!(
        w[5].starts_with(".overlord/keymap.toml:10:14: [diff] next_hunk: 'f13': unknown key 'f13'"),
        "{w:?}"
    );
    let defaults = Keymap::default();
    // What was wrong keeps the defaults; what was right applies.
    for (context, action) in [
        (Context::Global, Action::Save),
        (Context::Global, Action::Help),
        (Context::Global, Action::Up),
        (Context::Diff, Action::NextHunk),
    ] {
        assert_eq!(
            keymap.keys(context, action),
            defaults.keys(context, action),
            "{}",
            action.name()
        );
    }
    assert_eq!(
        keymap.keys(Context::Global, Action::Quit),
        &[Key::parse("Q").unwrap()]
    );
}

#[test]
fn bad_toml_in_a_keymap_is_located_and_the_defaults_stay() {
    let (keymap, warnings) = user_keymap("[global]\nsave = [\"x\"\n");
    assert_eq!(warnings.len(), 1, "{:?}", shown(&warnings));
    assert_eq!(warnings[0].file, ".overlord/keymap.toml");
    assert_eq!(
        warnings[0].to_string(),
        ".overlord/keymap.toml:2:12: unclosed array, expected `]`"
    );
    assert_eq!(keymap, Keymap::default());
}

#[test]
fn hints_and_help_are_generated_from_the_bindings() {
    let keymap = Keymap::default();
    let hints = keymap.hints(Context::Swarm);
    assert!(
        hints.contains(&("p".to_string(), Action::Pause.description())),
        "{hints:?}"
    );
    let global = keymap.hints(Context::Global);
    assert!(
        global.contains(&("q/ctrl-c".to_string(), "quit")),
        "{global:?}"
    );
    assert!(global.contains(&("S".to_string(), "save")), "{global:?}");

    let (rebound, _) =
        user_keymap("[swarm]\npause = [\"ctrl-p\", \"z\"]\n[global]\nsave = [\"f2\"]\n");
    let hints = rebound.hints(Context::Swarm);
    assert!(
        hints.contains(&("ctrl-p/z".to_string(), "pause agent")),
        "{hints:?}"
    );
    assert!(!hints.iter().any(|(k, _)| k == "p"), "{hints:?}");
    assert!(rebound
        .hints(Context::Global)
        .contains(&("f2".to_string(), "save")));

    let help = rebound.help();
    assert_eq!(help[0].0, Context::Global);
    let contexts: Vec<Context> = help.iter().map(|(c, _)| *c).collect();
    assert!(contexts.contains(&Context::Confirm) && contexts.contains(&Context::Diff));
    assert!(
        !contexts.contains(&Context::Qa),
        "a context that binds nothing is left out"
    );
    let swarm = &help.iter().find(|(c, _)| *c == Context::Swarm).unwrap().1;
    assert_eq!(swarm, &rebound.hints(Context::Swarm));
    // Every binding shows up somewhere in help, and nothing else does.
    let total: usize = help.iter().map(|(_, h)| h.len()).sum();
    let bound = Context::ALL
        .into_iter()
        .flat_map(|c| Action::ALL.map(|a| (c, a)))
        .filter(|(c, a)| !rebound.keys(*c, *a).is_empty())
        .count();
    assert_eq!(total, bound);
}

#[test]
fn an_unreadable_keymap_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (keymap, warnings) = Keymap::load(dir.path(), ".overlord/keymap.toml");
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].line, warnings[0].column), (0, 0));
    assert_eq!(keymap, Keymap::default());
    let (keymap, warnings) = Keymap::load(&dir.path().join("none.toml"), "k");
    assert!(warnings.is_empty());
    assert_eq!(keymap, Keymap::default());
}

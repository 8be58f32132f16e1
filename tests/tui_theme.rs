//! The built-in themes define every semantic slot, with colours that parse.

use overlord::tui::theme::{Slot, Theme, ThemeFile, DARK};

#[test]
fn the_dark_theme_defines_every_slot() {
    let file: ThemeFile = toml::from_str(DARK).unwrap();
    for slot in Slot::ALL {
        assert!(
            file.slots.contains_key(slot.name()),
            "themes/dark.toml has no {}",
            slot.name()
        );
    }
    let theme = Theme::from_file(&file).unwrap();
    assert_eq!(theme, Theme::dark());
    assert_ne!(theme.style(Slot::DiffAdd), theme.style(Slot::DiffDelete));
}

#[test]
fn bad_colours_and_slots_are_named() {
    let file: ThemeFile =
        toml::from_str("[slots]\ntext = { fg = \"#12345\" }\nnope = { fg = \"red\" }\n").unwrap();
    let errors = Theme::from_file(&file).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("slots.text") && e.contains("#rrggbb")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("slots.nope: no such slot")),
        "{errors:?}"
    );
}

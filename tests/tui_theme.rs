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

/// WCAG AA: every foreground/background pair each built-in theme can produce — every slot on
/// the theme's background (its own, or the dark terminals it assumes), every slot in a selected
/// row, reversed styles swapped — has a contrast of at least 4.5:1 (3:1 for borders, which are
/// graphics, not text).
#[test]
fn every_pair_a_builtin_theme_shows_is_readable() {
    use overlord::tui::theme::{contrast, rgb, BUILTIN};
    let mut bad = Vec::new();
    let mut checked = 0;
    for (name, _) in BUILTIN {
        let theme = Theme::builtin(name).unwrap();
        for p in theme.pairs() {
            let (Some(fg), Some(bg)) = (rgb(p.fg), rgb(p.bg)) else {
                bad.push(format!(
                    "{name}: {} leaves a colour to the terminal ({:?} on {:?})",
                    p.what, p.fg, p.bg
                ));
                continue;
            };
            let need = if p.text { 4.5 } else { 3.0 };
            let c = contrast(fg, bg);
            checked += 1;
            if c < need {
                bad.push(format!(
                    "{name}: {} is {c:.2}:1 ({:?} on {:?}), below {need}:1",
                    p.what, p.fg, p.bg
                ));
            }
        }
    }
    assert!(checked >= 250, "only {checked} pairs");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The contrast arithmetic itself, on WCAG's known values.
#[test]
fn contrast_is_wcag_s_ratio() {
    use overlord::tui::theme::{contrast, rgb};
    use ratatui::style::Color;
    assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
    assert!((contrast((119, 119, 119), (255, 255, 255)) - 4.48).abs() < 0.01);
    assert_eq!(rgb(Color::Reset), None);
    assert_eq!(rgb(Color::Indexed(16)), Some((0, 0, 0)));
    assert_eq!(rgb(Color::Indexed(231)), Some((255, 255, 255)));
    assert_eq!(rgb(Color::White), Some((255, 255, 255)));
}

/// The light theme paints its own background under everything (so it reads the same on a
/// dark terminal), cleared overlay cells included; the dark theme keeps the terminal's.
#[test]
fn the_light_theme_paints_its_background_everywhere() {
    use overlord::tui::app::App;
    use overlord::tui::keymap::Keymap;
    use overlord::tui::run::{draw_frame, Look};
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Color;
    let s = crate::tui_panes::script();
    let mut app = App::new(s.state.clone());
    app.screen.help = true;
    let keymap = Keymap::default();
    for (name, own) in [("light", true), ("high-contrast", true), ("dark", false)] {
        let theme = Theme::builtin(name).unwrap();
        let look = Look {
            theme: &theme,
            keymap: &keymap,
            stall_secs: 120,
        };
        let area = Rect::new(0, 0, 100, 30);
        let mut buf = Buffer::empty(area);
        draw_frame(
            &app,
            &look,
            &[],
            time::OffsetDateTime::UNIX_EPOCH,
            area,
            &mut buf,
        );
        let reset = buf
            .content()
            .iter()
            .filter(|c| c.bg == Color::Reset || c.fg == Color::Reset)
            .count();
        if own {
            assert_eq!(reset, 0, "{name}: {reset} cells on the terminal's colours");
        } else {
            assert!(reset > 0, "dark keeps the terminal's background");
        }
    }
}

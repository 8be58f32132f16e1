//! The footer's key hints: which keys to name, most important first (help, quit, the command
//! bar, Save, the kill switch, then the focused pane's own keys, then the rest), and fitting
//! them to the width — whole hints only, dropped from the end, a `…` where some were left out.

use ratatui::text::{Line, Span};

use super::keymap::{Action, Context, Keymap};
use super::theme::{Slot, Theme};

/// The global actions a newcomer needs first, in the order the footer names them.
const FIRST: [Action; 5] = [
    Action::Help,
    Action::Quit,
    Action::Palette,
    Action::Save,
    Action::PauseAll,
];

/// The hints of the layers in force: (the first key of each action, what it does). A modal
/// layer (a confirmation, the command bar, the help) names only its own keys; under a pane
/// the five global essentials come first, then the pane's keys, then the other global ones.
pub fn ordered(keymap: &Keymap, layers: &[Context]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // A confirmation names all its keys (it has two actions); elsewhere the footer names one
    // key per action (the help lists them all).
    let all_keys = layers.first() == Some(&Context::Confirm);
    let mut push = |keys: String, what: &str| {
        let first = if all_keys {
            keys
        } else if keys.starts_with('/') {
            "/".to_string()
        } else {
            keys.split('/').next().unwrap_or("").to_string()
        };
        if !first.is_empty() && !out.iter().any(|(_, w)| w == what) {
            out.push((first, what.to_string()));
        }
    };
    let modal = layers.first().is_some_and(|c| c.is_modal());
    if !modal {
        for action in FIRST {
            // What the key does where the user is: a pane may rebind it.
            if let Some(key) = keymap.keys(Context::Global, action).first() {
                let shadowed = layers
                    .iter()
                    .take_while(|c| **c != Context::Global)
                    .any(|c| keymap.action_in(*c, *key).is_some());
                if !shadowed {
                    push(key.to_string(), action.description());
                }
            }
        }
    }
    for c in layers {
        for (k, what) in keymap.hints(*c) {
            push(k, what);
        }
        if c.is_modal() {
            break;
        }
    }
    out
}

/// The hints as one line of `width` columns: whole hints from the start, two spaces apart; when
/// some do not fit, they are dropped from the end and a `…` says so.
pub fn line<'a>(hints: &[(String, String)], theme: &Theme, width: usize) -> Line<'a> {
    const GAP: usize = 2;
    let piece = |(k, w): &(String, String)| k.chars().count() + 1 + w.chars().count();
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, h) in hints.iter().enumerate() {
        let gap = if i == 0 { 0 } else { GAP };
        let need = gap + piece(h);
        // Room for this one, and for the `…` if any come after it.
        let more = if i + 1 < hints.len() { GAP + 1 } else { 0 };
        let fits_with_mark = used + need + more <= width;
        let fits_last = i + 1 == hints.len() && used + need <= width;
        if !(fits_with_mark || fits_last) {
            let mark = if i == 0 { "…" } else { "  …" };
            if used + mark.chars().count() <= width {
                spans.push(Span::styled(mark, theme.style(Slot::Hint)));
            }
            break;
        }
        if gap > 0 {
            spans.push(Span::styled("  ", theme.style(Slot::Hint)));
        }
        spans.push(Span::styled(h.0.clone(), theme.style(Slot::Key)));
        spans.push(Span::styled(format!(" {}", h.1), theme.style(Slot::Hint)));
        used += need;
    }
    Line::from(spans)
}

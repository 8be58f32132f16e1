//! Text from agents, tools and users on its way to the screen: control characters and escape
//! sequences are neutralized (an agent must not be able to repaint the console), and text is
//! cut to a width on character boundaries.

/// `s` with every control character made visible and inert: ESC and the C0/C1 controls become
/// `␛`-style pictures or `�`, tabs become a space, line breaks a `⏎`. The result is one line.
/// (The one sanitizer is `protocol::visible`, shared with the text CLI.)
pub fn clean(s: &str) -> String {
    crate::protocol::visible::line(s)
}

/// The first line of `s`, cleaned.
pub fn first_line(s: &str) -> String {
    clean(
        s.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim(),
    )
}

/// `s` cut to at most `width` characters, with `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A duration in seconds as a person reads it: `42s`, `3m`, `2h05m`, `3d`.
pub fn ago(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d", s / 86_400),
    }
}

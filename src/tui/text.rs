//! Text from agents, tools and users on its way to the screen: control characters and escape
//! sequences are neutralized (an agent must not be able to repaint the console), and text is
//! cut to a width on character boundaries.

/// `s` with every control character made visible and inert: ESC and the C0/C1 controls become
/// `␛`-style pictures or `�`, tabs become a space, line breaks a `⏎`. The result is one line.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' | '\r' => out.push('⏎'),
            // C0 controls as their Unicode control pictures (ESC → ␛).
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            '\u{7f}' => out.push('␡'),
            // C1 controls (CSI 0x9b among them) and the bidi overrides that reorder text.
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push('�')
            }
            c => out.push(c),
        }
    }
    out
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

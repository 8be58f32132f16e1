//! Shortening an agent's text for an event's detail, a summary or a commit message.

/// The first non-empty line of `s`, at most `max` characters (cut with `…`).
pub(super) fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

//! Text from agents, tools and users on its way to the screen: control characters and escape
//! sequences are neutralized (an agent must not be able to repaint the console), and text is
//! cut to a width on character boundaries — paths from the middle, keeping what tells them
//! apart — and table columns give way by rank so that ids are never cut.

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

/// `path` in at most `width` characters, shortened from the middle: the file name stays, and
/// so does the first directory and the directory that tells it from the other paths shown
/// with it (`others`) under the same file name — `src/…/mode.rs` and `tests/…/mode.rs`, not
/// `…/mode.rs` twice. What still does not fit loses its first directory, then its start.
pub fn shorten_path(path: &str, others: &[&str], width: usize) -> String {
    if path.chars().count() <= width {
        return path.to_string();
    }
    let parts: Vec<&str> = path.split('/').collect();
    let n = parts.len();
    if n < 2 {
        return fit_start(path, width);
    }
    let name = parts[n - 1];
    // The first directory where each other path with this file name differs from this one.
    let mut telling = std::collections::BTreeSet::new();
    for other in others.iter().filter(|o| **o != path) {
        let theirs: Vec<&str> = other.split('/').collect();
        if theirs.last() != Some(&name) {
            continue;
        }
        if let Some(i) = (0..n - 1).find(|&i| theirs.get(i) != Some(&parts[i])) {
            telling.insert(i);
        }
    }
    let join = |keep: &dyn Fn(usize) -> bool| -> String {
        let mut out: Vec<&str> = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            if keep(i) {
                out.push(p);
            } else if out.last() != Some(&"…") {
                out.push("…");
            }
        }
        out.join("/")
    };
    for keep_first in [true, false] {
        let shown = join(&|i| i == n - 1 || (keep_first && i == 0) || telling.contains(&i));
        if shown.chars().count() <= width {
            return shown;
        }
    }
    // Still too long: the telling directory's start, then the whole file name.
    let name_len = name.chars().count();
    if let Some(&t) = telling.iter().next() {
        let room = width.saturating_sub(name_len + 2);
        if room > 0 {
            let dir: String = parts[t].chars().take(room).collect();
            return format!("{dir}…/{name}");
        }
    }
    fit_start(&join(&|i| i == n - 1 || telling.contains(&i)), width)
}

/// `s` in at most `width` characters keeping its end: `…` and the last characters.
pub fn fit_start(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let tail: String = s.chars().skip(n - (width - 1)).collect();
    format!("…{tail}")
}

/// A table column for [`columns`]: the width it wants, the least it can do with (an id's
/// whole width: ids are never cut), and its rank (a lower rank gives way first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub want: usize,
    pub least: usize,
    pub rank: u8,
}

/// The widths of `cols` in `room` characters with `spacing` between columns: when even their
/// least widths do not fit, columns are left out (`None`) from the lowest rank up; then each
/// gets what it wants, the lowest-ranked shrinking towards their least until all fit — so an
/// id column keeps its whole width while columns of lower rank give way.
pub fn columns(cols: &[Column], room: usize, spacing: usize) -> Vec<Option<usize>> {
    // A column that wants nothing is not shown (it takes no spacing either).
    let mut widths: Vec<Option<usize>> = cols
        .iter()
        .map(|c| Some(c.least).filter(|_| c.want.max(c.least) > 0))
        .collect();
    let total = |w: &[Option<usize>]| -> usize {
        let shown: Vec<usize> = w.iter().flatten().copied().collect();
        shown.iter().sum::<usize>() + spacing * shown.len().saturating_sub(1)
    };
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|&i| (cols[i].rank, std::cmp::Reverse(i)));
    for &i in &order {
        if total(&widths) <= room || widths.iter().flatten().count() <= 1 {
            break;
        }
        widths[i] = None;
    }
    for (w, c) in widths.iter_mut().zip(cols) {
        if w.is_some() {
            *w = Some(c.want.max(c.least));
        }
    }
    for &i in &order {
        let over = total(&widths).saturating_sub(room);
        if over == 0 {
            break;
        }
        if let Some(w) = widths[i] {
            widths[i] = Some(w.saturating_sub(over).max(cols[i].least));
        }
    }
    widths
}

/// Counts as English (`1 agent`, `3 agents`): the one helper the core's answers use too.
pub use crate::protocol::report::plural;

/// An audit timestamp (`2026-12-06T14:03:27.000Z`) as details show it: `2026-12-06 14:03 UTC`.
/// Anything that does not parse is shown as it is (cleaned).
pub fn when(ts: &str) -> String {
    match crate::core::parse_stamp(ts) {
        Some(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
        None => clean(ts),
    }
}

/// `s` word-wrapped to lines of at most `width` characters: breaks at spaces, and a word
/// longer than a line is cut into pieces (so nothing is ever lost past the edge).
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let room = if len == 0 {
                width
            } else {
                width.saturating_sub(len + 1)
            };
            if word.len() <= room {
                if len > 0 {
                    line.push(' ');
                    len += 1;
                }
                line.extend(word.iter());
                len += word.len();
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                len = 0;
                continue;
            }
            // A word longer than a whole line: the part that fits, then the rest.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_read_as_english() {
        assert_eq!(plural(1, "agent"), "1 agent");
        assert_eq!(plural(0, "agent"), "0 agents");
        assert_eq!(plural(2, "checkpoint"), "2 checkpoints");
        assert_eq!(plural(3, "branch"), "3 branches");
        assert_eq!(plural(2, "entry"), "2 entries");
        assert_eq!(plural(2, "key"), "2 keys");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_never_loses_a_character() {
        assert_eq!(
            wrap("restore checkpoint/20261121-001 as a new commit", 20),
            vec!["restore", "checkpoint/20261121-", "001 as a new commit"]
        );
        assert_eq!(wrap("a b c", 3), vec!["a b", "c"]);
        assert_eq!(wrap("abc d", 3), vec!["abc", "d"], "a line exactly full");
        assert_eq!(wrap("", 10), vec![""]);
        for w in 1..30 {
            for l in wrap("the quick brown fox jumps over the lazy dog", w) {
                assert!(l.chars().count() <= w, "{l:?} wider than {w}");
            }
        }
    }

    #[test]
    fn details_show_absolute_times_in_utc() {
        assert_eq!(when("2026-12-06T14:03:27.000Z"), "2026-12-06 14:03 UTC");
        assert_eq!(when("not a time"), "not a time");
    }
}

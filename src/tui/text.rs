//! Text from agents, tools and users on its way to the screen: control characters and escape
//! sequences are neutralized (an agent must not be able to repaint the console), and text is
//! cut to a width on character boundaries — paths from the middle, keeping what tells them
//! apart — and table columns give way by rank so that ids are never cut.

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

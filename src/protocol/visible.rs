//! Text from agents, plans, concerns, commits and file names on its way to a terminal: the one
//! sanitizer. Control characters and escape sequences are shown as visible pictures and made
//! inert, so a concern summary cannot write the user's clipboard (OSC 52), retitle the
//! terminal (OSC 0), move the cursor over earlier output (CR, CSI) or reorder what is read
//! (bidi overrides). The console uses [`line`]; the text CLI prints everything through
//! [`text`]; `--json` output passes [`json`].

use std::borrow::Cow;

/// What a character becomes on a terminal: `None` when it is shown as it is.
fn picture(c: char) -> Option<char> {
    match c {
        // C0 controls as their Unicode control pictures (ESC → ␛, CR → ␍).
        '\u{0}'..='\u{1f}' => Some(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
        '\u{7f}' => Some('␡'),
        // C1 controls (CSI 0x9b and OSC 0x9d among them) and the bidi overrides and isolates
        // that reorder text.
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => Some('�'),
        _ => None,
    }
}

/// True when `c` would reach the terminal as something other than itself.
fn hazardous(c: char) -> bool {
    picture(c).is_some()
}

/// `s` as one inert line: tabs become a space, line breaks a `⏎`, every other control
/// character its picture (see [`picture`]).
pub fn line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' | '\r' => out.push('⏎'),
            c => out.push(picture(c).unwrap_or(c)),
        }
    }
    out
}

/// `s` with its lines and tabs kept and every other control character shown as its picture
/// (a carriage return too: it would let a line overwrite what was printed before it).
/// Borrowed when there is nothing to change, which is nearly always.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && c != '\t' && hazardous(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c => out.push(picture(c).unwrap_or(c)),
        }
    }
    Cow::Owned(out)
}

/// A serialized JSON document with the characters JSON leaves raw but a terminal would act on
/// (DEL, C1 controls, bidi overrides) written as `\uXXXX` escapes (serde_json escapes the C0
/// controls itself). The document means the same, and printing it is inert.
pub fn json(doc: String) -> String {
    // Line breaks and tabs stay as they are (below): a document without anything else to
    // escape is returned as it is, checked a byte at a time.
    if !needs_escapes(&doc) {
        return doc;
    }
    let mut out = String::with_capacity(doc.len() + 16);
    for c in doc.chars() {
        if hazardous(c) {
            // Outside strings JSON holds only ASCII punctuation, digits, letters and
            // whitespace (\n, \t, space), none of them hazardous except \n and \t, which
            // serde_json writes only between tokens, so the escape always lands in a string.
            if c == '\n' || c == '\t' {
                out.push(c);
            } else {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `doc` holds a hazardous character other than a line break or a tab, read from
/// its UTF-8 bytes: C0 controls and DEL are single bytes, a C1 control is `C2 80..9F`, the
/// bidi overrides `E2 80 AA..AE` and isolates `E2 81 A6..A9` (`C2` and `E2` only ever lead a
/// character).
fn needs_escapes(doc: &str) -> bool {
    let b = doc.as_bytes();
    b.iter().enumerate().any(|(i, &x)| match x {
        b'\n' | b'\t' => false,
        0x00..=0x1f | 0x7f => true,
        0xc2 => matches!(b.get(i + 1), Some(0x80..=0x9f)),
        0xe2 => matches!(
            (b.get(i + 1), b.get(i + 2)),
            (Some(0x80), Some(0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
        ),
        _ => false,
    })
}

/// Writes `value` as pretty JSON to `out`, as [`json`] would print it: the hazardous
/// characters JSON leaves raw written as `\uXXXX` escapes as each string goes out, so no
/// second pass reads the document (the `--json` output of a long history runs to megabytes).
pub fn write_json<W: std::io::Write, T: serde::Serialize + ?Sized>(
    out: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, Inert::default());
    value.serialize(&mut ser)
}

/// serde_json's pretty formatter with the raw parts of strings checked: outside strings a
/// document holds only punctuation, digits, letters and whitespace, and serde_json escapes
/// the C0 controls itself, so what is left to escape can only be in a string's raw parts.
#[derive(Default)]
struct Inert(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for Inert {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Printable ASCII, nearly every string: checked a word at a time.
        let printable = fragment.bytes().all(|b| (0x20..0x7f).contains(&b));
        if printable || !needs_escapes(fragment) {
            return w.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if hazardous(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte check says what a walk over the characters says.
        #[test]
        fn the_byte_check_finds_what_the_character_walk_finds(
            s in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{a0}\u{2028}-\u{2070}—é⏎])*"
        ) {
            let walk = s.chars().any(|c| hazardous(c) && c != '\n' && c != '\t');
            proptest::prop_assert_eq!(needs_escapes(&s), walk);
        }

        /// Escaping as the strings go out gives the document the whole-document pass gives.
        #[test]
        fn the_streamed_document_is_the_checked_one(
            strings in proptest::collection::vec(
                "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{a0}\u{2028}-\u{2070}—é⏎\"\\\\])*", 0..6),
            n in proptest::prelude::any::<i64>(),
        ) {
            let value = serde_json::json!({
                "strings": strings,
                "keyed": strings.iter().map(|s| (s.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
                "nested": [{"n": n, "empty": [], "none": null, "obj": {}}],
            });
            let mut streamed = Vec::new();
            write_json(&mut streamed, &value).unwrap();
            let checked = json(serde_json::to_string_pretty(&value).unwrap());
            proptest::prop_assert_eq!(String::from_utf8(streamed).unwrap(), checked);
        }
    }

    #[test]
    fn escape_sequences_become_visible() {
        let osc52 = "fix\u{1b}]52;c;ZXZpbA==\u{7}done";
        assert_eq!(text(osc52), "fix␛]52;c;ZXZpbA==␇done");
        assert_eq!(line("a\r\nb\tc"), "a⏎⏎b c");
        assert_eq!(text("a\r\nb\tc"), "a␍\nb\tc");
        assert_eq!(text("\u{9b}31m"), "�31m");
        assert_eq!(text("\u{202e}gnp.exe"), "�gnp.exe");
        assert!(matches!(text("plain\ttext\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_json_and_inert() {
        let value = serde_json::json!({"summary": "x\u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}y\u{7f}"});
        let doc = json(serde_json::to_string_pretty(&value).unwrap());
        assert!(!doc.chars().any(|c| hazardous(c) && c != '\n'), "{doc:?}");
        let back: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(back, value);
    }
}

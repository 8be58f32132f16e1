//! The diff as the CLI's `--json` document, written file by file: each file is serialized
//! as soon as it is diffed, pretty-printed at its depth in the document, so the whole model
//! never has to be in memory. The bytes are the ones `serde_json::to_string_pretty` gives for
//! the whole [`Document`] (the model's fields in their declared order), so the streamed
//! document and the one-shot one are the same.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

use super::sides::{set_of, Side};
use crate::protocol::diff::FileDiff;

/// The depth of a file object inside the document (`{` → `"diff": {` → `"files": [`).
const FILE_DEPTH: usize = 3;

/// serde_json's pretty printer (two spaces a level) starting `depth` levels in.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Whether `bytes` may hold a character a terminal would act on that serde_json leaves raw:
/// DEL (0x7f), a C1 control (U+0080–U+009F, led by 0xc2) or a bidi control (led by 0xe2).
fn maybe_hazardous(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| matches!(b, 0x7f | 0xc2 | 0xe2))
}

/// One file as an element of the document's `files` array: its indent and the object,
/// pretty-printed at its depth and made inert as [`crate::protocol::visible::json`] does.
pub fn file_element(f: &FileDiff) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let pretty = Pretty {
        depth: FILE_DEPTH,
        has_value: false,
    };
    // Writing to a Vec cannot fail and the types serialize without error.
    let _ = pretty.indent(&mut out);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, pretty);
    let _ = f.serialize(&mut ser);
    if maybe_hazardous(&out) {
        let text = String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        return crate::protocol::visible::json(text).into_bytes();
    }
    out
}

/// The `--json` document: its fields in this order, the model's in theirs (typed, so the
/// order does not depend on how `serde_json::Value` keeps keys in this build).
#[derive(Serialize)]
pub struct Document<'a> {
    pub schema_version: u32,
    pub diff: &'a crate::protocol::diff::DiffSet,
}

/// Writes the `--json` document of a diff around its files, which come one by one (each from
/// [`file_element`], in order).
pub struct JsonWriter {
    tail: String,
    files: usize,
}

impl JsonWriter {
    /// Writes the document up to its first file: `{"diff": {"files": [` pretty-printed, the
    /// rest of the document (`from`, `to`, their ids, `schema_version`) kept for
    /// [`JsonWriter::finish`].
    pub fn start(
        out: &mut impl Write,
        schema_version: u32,
        from: &Side,
        to: &Side,
    ) -> io::Result<Self> {
        let empty = set_of(from, to, Vec::new());
        let doc = Document {
            schema_version,
            diff: &empty,
        };
        let doc = serde_json::to_string_pretty(&doc).map_err(io::Error::other)?;
        let doc = crate::protocol::visible::json(doc);
        // Inside a JSON string every `"` is escaped, so the first `"files": []` is the key.
        let marker = "\"files\": []";
        let at = doc
            .find(marker)
            .ok_or_else(|| io::Error::other("the diff document has no files array"))?;
        let split = at + marker.len() - 1;
        out.write_all(&doc.as_bytes()[..split])?;
        Ok(JsonWriter {
            tail: doc[split..].to_string(),
            files: 0,
        })
    }

    /// Writes one file's element (from [`file_element`]).
    pub fn file(&mut self, out: &mut impl Write, element: &[u8]) -> io::Result<()> {
        out.write_all(if self.files == 0 { b"\n" } else { b",\n" })?;
        out.write_all(element)?;
        self.files += 1;
        Ok(())
    }

    /// Closes the files array and writes the rest of the document and a line break.
    pub fn finish(self, out: &mut impl Write) -> io::Result<()> {
        if self.files > 0 {
            out.write_all(b"\n    ")?;
        }
        out.write_all(self.tail.as_bytes())?;
        out.write_all(b"\n")
    }
}

//! The JSONL mirrors in the seeds' file names (`audit/commands.jsonl`, `responses.jsonl`,
//! `concerns.jsonl`, `handoffs.jsonl`, `git_actions.jsonl`): one line per record,
//! `{"seq":…,"hash":"…","at":"…","topic":"…","record":{…}}`, written after the database
//! commit. They are for people and tools; `audit verify` checks they agree with the store.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::record::StoredRecord;
use crate::protocol::Topic;

pub struct Mirrors {
    dir: PathBuf,
    files: BTreeMap<Topic, File>,
}

/// One mirror line, rendered without re-serializing the record body (it is copied verbatim).
pub fn line(r: &StoredRecord) -> String {
    let mut out = Vec::with_capacity(r.body.len() + 160);
    write_line(
        &mut out,
        r.seq,
        &r.hash,
        &r.at,
        r.topic.as_str(),
        r.body.as_bytes(),
    );
    // Everything written is UTF-8: the record's strings, digits, hex and JSON punctuation.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends one mirror line (with its newline) to `out`: what `line` renders, from the
/// record's columns (for `audit verify`, which compares lines without building records).
pub fn write_line(out: &mut Vec<u8>, seq: u64, hash: &[u8], at: &str, topic: &str, body: &[u8]) {
    use std::io::Write as _;
    let _ = write!(out, "{{\"seq\":{seq},\"hash\":\"");
    // The hash in hex, written in place (`hex::encode` builds a string a char at a time).
    let mut hex = [0u8; 64];
    let room = hex.get_mut(..hash.len() * 2);
    match room.and_then(|room| hex::encode_to_slice(hash, room).ok().map(|()| room)) {
        Some(room) => out.extend_from_slice(room),
        None => out.extend_from_slice(hex::encode(hash).as_bytes()),
    }
    out.extend_from_slice(b"\",\"at\":");
    // The timestamp as a JSON string, escaped as `serde_json::Value::String` displays it.
    let _ = serde_json::to_writer(&mut *out, at);
    out.extend_from_slice(b",\"topic\":\"");
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(b"\",\"record\":");
    out.extend_from_slice(body);
    out.extend_from_slice(b"}\n");
}

impl Mirrors {
    pub fn new(dir: &Path) -> io::Result<Mirrors> {
        std::fs::create_dir_all(dir)?;
        let mut files = BTreeMap::new();
        for topic in Topic::ALL {
            if let Some(name) = topic.mirror_file() {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(dir.join(name))?;
                files.insert(topic, f);
            }
        }
        Ok(Mirrors {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Mirrors of a store opened read-only: nothing is opened, appended or repaired.
    pub fn read_only(dir: &Path) -> Mirrors {
        Mirrors {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn append(&mut self, records: &[StoredRecord]) -> io::Result<()> {
        let mut batches: BTreeMap<Topic, String> = BTreeMap::new();
        for r in records {
            if self.files.contains_key(&r.topic) {
                batches.entry(r.topic).or_default().push_str(&line(r));
            }
        }
        for (topic, text) in batches {
            if let Some(f) = self.files.get_mut(&topic) {
                f.write_all(text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Appends the lines of `records` that a mirror does not have yet (judged by the sequence
    /// number of its last complete line) and cuts off a torn last line.
    pub fn repair(&mut self, records: &[StoredRecord]) -> io::Result<()> {
        for (topic, file) in self.files.iter_mut() {
            let last = last_complete_seq(file)?;
            let mut text = String::new();
            for r in records.iter().filter(|r| r.topic == *topic) {
                if last.is_none_or(|l| r.seq > l) {
                    text.push_str(&line(r));
                }
            }
            if !text.is_empty() {
                file.write_all(text.as_bytes())?;
            }
        }
        Ok(())
    }
}

/// The `seq` of the last complete line; truncates a final line that has no newline (a write
/// cut short by a crash).
fn last_complete_seq(file: &mut File) -> io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    // Read backwards in growing chunks until the start of the last complete line is found.
    let mut chunk = 4096u64;
    loop {
        let start = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        Read::by_ref(file).take(len - start).read_to_end(&mut buf)?;
        let end_of_complete = match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => i,
            None if start == 0 => {
                // No complete line at all: the whole file is a torn line.
                file.set_len(0)?;
                return Ok(None);
            }
            None => {
                chunk *= 4;
                continue;
            }
        };
        if end_of_complete + 1 < buf.len() {
            file.set_len(start + end_of_complete as u64 + 1)?;
        }
        let line_start = match buf[..end_of_complete].iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if start == 0 => 0,
            None => {
                chunk *= 4;
                continue;
            }
        };
        let line = &buf[line_start..end_of_complete];
        return Ok(parse_seq(line));
    }
}

fn parse_seq(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let digits: Vec<u8> = rest
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// The mirrored topics whose file is not exactly the lines `line` renders for the records of
/// the topic, in order, and nothing more (or cannot be read): one scan of the records in
/// order with a cursor, each line compared byte for byte as it comes. `audit verify` reads
/// those files closely to say what is wrong.
pub fn differing(conn: &rusqlite::Connection, dir: &Path) -> rusqlite::Result<BTreeSet<Topic>> {
    let mut check = LineCheck::open(dir);
    let mut stmt = conn.prepare(
        "SELECT seq, topic, at, body, hash FROM records WHERE topic <> 'event' ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let Some(topic) = row.get_ref(1)?.as_str().ok().and_then(Topic::parse) else {
            continue;
        };
        let seq = row.get::<_, i64>(0)?;
        let at = row.get_ref(2)?.as_str().unwrap_or("");
        let body = row.get_ref(3)?.as_bytes().unwrap_or(b"");
        let hash = row.get_ref(4)?.as_blob().unwrap_or(b"");
        check.row(topic, seq, at, body, hash);
    }
    Ok(check.finish())
}

/// The comparison of `differing`, fed the records in order by whoever reads them (the one
/// pass of `audit verify` reads each record once for the chain, the mirrors and the replay).
pub struct LineCheck {
    readers: BTreeMap<Topic, BufReader<File>>,
    differ: BTreeSet<Topic>,
    expected: Vec<u8>,
    found: Vec<u8>,
}

impl LineCheck {
    /// Opens every mirror file of `dir` (one that cannot be opened differs).
    pub fn open(dir: &Path) -> LineCheck {
        let mut readers = BTreeMap::new();
        let mut differ = BTreeSet::new();
        for topic in Topic::ALL {
            let Some(name) = topic.mirror_file() else {
                continue;
            };
            match File::open(dir.join(name)) {
                Ok(f) => {
                    readers.insert(topic, BufReader::with_capacity(1 << 20, f));
                }
                Err(_) => {
                    differ.insert(topic);
                }
            }
        }
        LineCheck {
            readers,
            differ,
            expected: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Compares the next line of `topic`'s mirror with the record's (nothing for a topic
    /// without a mirror, or one already found to differ).
    pub fn row(&mut self, topic: Topic, seq: i64, at: &str, body: &[u8], hash: &[u8]) {
        if self.differ.contains(&topic) {
            return;
        }
        let Some(reader) = self.readers.get_mut(&topic) else {
            return;
        };
        self.expected.clear();
        write_line(
            &mut self.expected,
            seq as u64,
            hash,
            at,
            topic.as_str(),
            body,
        );
        self.found.clear();
        if reader.read_until(b'\n', &mut self.found).is_err() || self.found != self.expected {
            self.differ.insert(topic);
        }
    }

    /// The topics whose file differs, once every record was compared (a line past the store's
    /// last record of a topic differs too).
    pub fn finish(mut self) -> BTreeSet<Topic> {
        for (topic, reader) in self.readers.iter_mut() {
            if !self.differ.contains(topic)
                && !reader.fill_buf().map(|b| b.is_empty()).unwrap_or(false)
            {
                self.differ.insert(*topic);
            }
        }
        self.differ
    }
}

//! The head file `.overlord/audit-head` on disk: its text (a header line, then two
//! fixed-width slots, each `seq <20 digits> hash <64 hex> check <8 hex>`; the valid slot with
//! the higher seq is the head), reading it (and the one-head layout of earlier versions), and
//! writing it in place: each commit overwrites the older slot of a file opened once and kept
//! open, so a write torn by a crash (or read half-written by another process) leaves the other
//! slot — an older head, which the store always reaches. The file is created, or converted from
//! the old layout, by writing a temporary file and renaming it over (once).
//!
//! A leaf: hashes and files only; `anchor.rs` builds the anchors on it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::chain::Hash;

/// The head file's name under `.overlord/`.
pub const HEAD_FILE: &str = "audit-head";

/// The first line of a head file in the one-head layout of earlier versions (still read; the
/// next write converts it).
pub const MAGIC_V1: &str = "overlord-audit-head 1";

/// The start of the first line of a two-slot head file.
const MAGIC_V2: &str = "overlord-audit-head 2";

/// The whole first line of a two-slot head file, fixed so the slots sit at fixed offsets.
const HEADER: &str =
    "overlord-audit-head 2 (two slots: the valid one with the higher seq is the head)\n";

/// One slot: `seq <20 digits> hash <64 hex> check <8 hex>\n`.
const SLOT_LEN: usize = 4 + 20 + 6 + 64 + 7 + 8 + 1;

/// The length of a two-slot head file.
const FILE_LEN: usize = HEADER.len() + 2 * SLOT_LEN;

/// Whether each in-place write is synced (`fdatasync`) before the next transaction starts.
/// See `docs/governance.md`, "The audit anchor".
const SYNC_IN_PLACE: bool = true;

/// A committed record the store must still hold: its seq and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash,
}

/// The checksum of a slot's `seq … hash …` text: the first 4 bytes of its SHA-256, in hex.
fn check(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..4])
}

/// One slot's line, `SLOT_LEN` bytes.
fn render_slot(head: &Head) -> String {
    let body = format!("seq {:020} hash {}", head.seq, hex::encode(head.hash));
    let line = format!("{body} check {}\n", check(&body));
    debug_assert_eq!(line.len(), SLOT_LEN);
    line
}

/// The head file's text: the header and both slots holding `head`.
pub fn render(head: &Head) -> String {
    let slot = render_slot(head);
    format!("{HEADER}{slot}{slot}")
}

/// Parses a head file. Empty text is no anchor (what a crash between creating the file and
/// writing it could leave on a file system without ordered renames).
pub fn parse(bytes: &[u8]) -> Result<Option<Head>, String> {
    if bytes.starts_with(MAGIC_V2.as_bytes()) {
        return parse_v2(bytes).map(Some);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not text".to_string())?;
    parse_v1(text)
}

/// The one-head layout: `overlord-audit-head 1`, `seq <n>`, `hash <hex>` lines.
fn parse_v1(text: &str) -> Result<Option<Head>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(MAGIC_V1) {
        return Err(format!(
            "it does not start with '{MAGIC_V1}' or '{MAGIC_V2}'"
        ));
    }
    let (mut seq, mut hash) = (None, None);
    for line in lines.map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once(' ') {
            Some(("seq", v)) => seq = Some(parse_seq(v)?),
            Some(("hash", v)) => hash = Some(parse_hash(v)?),
            _ => return Err(format!("unexpected line '{}'", shorten(line))),
        }
    }
    match (seq, hash) {
        (Some(seq), Some(hash)) => Ok(Some(Head { seq, hash })),
        (None, _) => Err("it has no 'seq' line".into()),
        (_, None) => Err("it has no 'hash' line".into()),
    }
}

/// The two-slot layout: the valid slot with the higher seq; an error only when neither is.
fn parse_v2(bytes: &[u8]) -> Result<Head, String> {
    if !bytes.starts_with(HEADER.as_bytes()) {
        return Err(format!("its first line is not '{}'", HEADER.trim_end()));
    }
    if bytes
        .get(FILE_LEN..)
        .is_some_and(|rest| !rest.iter().all(u8::is_ascii_whitespace))
    {
        return Err("it has text after its two slots".into());
    }
    let [a, b] = slots(bytes);
    match (a, b) {
        (Ok(a), Ok(b)) => Ok(if b.seq > a.seq { b } else { a }),
        (Ok(h), Err(_)) | (Err(_), Ok(h)) => Ok(h),
        (Err(a), Err(b)) => Err(format!(
            "neither of its two slots is valid (slot 1: {a}; slot 2: {b})"
        )),
    }
}

/// Both slots of a two-slot file, each read on its own.
fn slots(bytes: &[u8]) -> [Result<Head, String>; 2] {
    [0, 1].map(|i| {
        let at = HEADER.len() + i * SLOT_LEN;
        match bytes.get(at..at + SLOT_LEN) {
            Some(slot) => parse_slot(slot),
            None => Err("it is cut short".into()),
        }
    })
}

/// One slot's line, checksum included.
fn parse_slot(slot: &[u8]) -> Result<Head, String> {
    let text = std::str::from_utf8(slot)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| "it is not text".to_string())?;
    let line = text
        .strip_suffix('\n')
        .ok_or_else(|| "it does not end its line".to_string())?;
    let (body, sum) = line
        .rsplit_once(" check ")
        .ok_or_else(|| format!("'{}' has no checksum", shorten(line)))?;
    if sum != check(body) {
        return Err(format!(
            "'{}' does not match its checksum (a torn or edited write)",
            shorten(line)
        ));
    }
    let fields: Vec<&str> = body.split(' ').collect();
    match fields.as_slice() {
        ["seq", seq, "hash", hash] => Ok(Head {
            seq: parse_seq(seq)?,
            hash: parse_hash(hash)?,
        }),
        _ => Err(format!("unexpected slot '{}'", shorten(line))),
    }
}

pub fn parse_seq(v: &str) -> Result<u64, String> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && *n <= i64::MAX as u64)
        .ok_or_else(|| format!("'{}' is not a record number", shorten(v)))
}

pub fn parse_hash(v: &str) -> Result<Hash, String> {
    hex::decode(v.trim())
        .ok()
        .and_then(|b| Hash::try_from(b.as_slice()).ok())
        .ok_or_else(|| format!("'{}' is not a SHA-256 hash", shorten(v)))
}

fn shorten(s: &str) -> String {
    let s: String = s.chars().take(40).collect();
    crate::protocol::visible::text(&s).into_owned()
}

/// Reads the head file; a missing or empty file is no anchor. The error is the reason only
/// (`anchor.rs` names the file).
pub fn read(path: &Path) -> Result<Option<Head>, String> {
    match std::fs::read(path) {
        Ok(bytes) => parse(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The head file held open by a store, to be overwritten in place.
#[derive(Debug)]
pub struct HeadFile {
    file: File,
}

impl HeadFile {
    /// Whether `path` still names the file this handle holds (not deleted, nor replaced).
    fn is_at(&self, path: &Path) -> std::io::Result<bool> {
        let there = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let held = self.file.metadata()?;
            Ok(held.dev() == there.dev() && held.ino() == there.ino())
        }
        #[cfg(not(unix))]
        {
            let _ = there;
            Ok(false)
        }
    }

    /// Overwrites the older slot with `head`; `false` (nothing written) when the file is not
    /// in the two-slot layout, or already holds a head at or past `head` that is not `head`
    /// (a store that went back: the file is then rewritten whole, as before).
    fn overwrite_older(&mut self, head: &Head) -> std::io::Result<bool> {
        let mut bytes = Vec::with_capacity(FILE_LEN + 1);
        self.file.seek(SeekFrom::Start(0))?;
        (&self.file)
            .take(FILE_LEN as u64 + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() != FILE_LEN || !bytes.starts_with(HEADER.as_bytes()) {
            return Ok(false);
        }
        let [a, b] = slots(&bytes).map(Result::ok);
        if [a, b]
            .iter()
            .flatten()
            .any(|h| h.seq >= head.seq && h != head)
        {
            return Ok(false);
        }
        let older = match (a, b) {
            (None, _) => 0,
            (_, None) => 1,
            (Some(a), Some(b)) => usize::from(b.seq < a.seq),
        };
        self.file
            .seek(SeekFrom::Start((HEADER.len() + older * SLOT_LEN) as u64))?;
        self.file.write_all(render_slot(head).as_bytes())?;
        if SYNC_IN_PLACE {
            self.file.sync_data()?;
        }
        Ok(true)
    }
}

/// Records `head` in the head file at `path`: in place in its older slot through the handle
/// `held` (opened on the first write and kept), or — no file there yet, another file put in its
/// place, the one-head layout of earlier versions, an unreadable file — by writing the whole
/// file anew (`replace`), whose handle is kept for the next writes.
pub fn write_head(held: &mut Option<HeadFile>, path: &Path, head: &Head) -> std::io::Result<()> {
    if held.is_none() {
        *held = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .ok()
            .map(|file| HeadFile { file });
    }
    if let Some(h) = held.as_mut() {
        let done = h.is_at(path)? && h.overwrite_older(head)?;
        if done {
            return Ok(());
        }
    }
    *held = None;
    *held = Some(replace(path, head)?);
    Ok(())
}

/// Replaces the head file atomically: a 0600 temporary file, written and synced, renamed over
/// it; its handle is returned (it is the head file now). The directory is not synced: a rename
/// lost in a crash leaves the older head, which the store still reaches (an older anchor is
/// always satisfied).
pub fn replace(path: &Path, head: &Head) -> std::io::Result<HeadFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{HEAD_FILE}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(render(head).as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(HeadFile { file })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use crate::store::head_file::{
        parse, read, render, render_slot, replace, write_head, Head, HeadFile, FILE_LEN, HEADER,
        HEAD_FILE, MAGIC_V1, SLOT_LEN,
    };
    use proptest::prelude::*;

    fn head(seq: u64) -> Head {
        Head {
            seq,
            hash: [seq as u8; 32],
        }
    }

    /// Writes `heads` in turn through one kept handle, as a store does.
    fn written(heads: &[Head]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HEAD_FILE);
        let mut held: Option<HeadFile> = None;
        for h in heads {
            write_head(&mut held, &path, h).unwrap();
        }
        (dir, path)
    }

    #[test]
    fn a_head_file_round_trips_and_reads_like_text() {
        for seq in [1, 7, i64::MAX as u64] {
            let h = head(seq);
            let text = render(&h);
            assert_eq!(text.len(), FILE_LEN);
            assert_eq!(parse(text.as_bytes()), Ok(Some(h)));
        }
        let text = render(&head(12));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.trim_end());
        assert!(
            lines[1].starts_with(&format!(
                "seq 00000000000000000012 hash {} check ",
                hex::encode([12u8; 32])
            )),
            "{}",
            lines[1]
        );
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"\n  \n"), Ok(None));
    }

    #[test]
    fn the_one_head_layout_is_read_and_converted_by_the_next_write() {
        let (_dir, path) = written(&[]);
        let old = format!("{MAGIC_V1}\nseq 41\nhash {}\n", hex::encode([41u8; 32]));
        std::fs::write(&path, &old).unwrap();
        assert_eq!(read(&path), Ok(Some(head(41))));
        let mut held = None;
        write_head(&mut held, &path, &head(42)).unwrap();
        let now = std::fs::read(&path).unwrap();
        assert_eq!(now.len(), FILE_LEN);
        assert!(now.starts_with(HEADER.as_bytes()));
        assert_eq!(parse(&now), Ok(Some(head(42))));
        // From then on in place: the older slot takes each new head.
        write_head(&mut held, &path, &head(43)).unwrap();
        let now = std::fs::read_to_string(&path).unwrap();
        assert_eq!(&now[HEADER.len()..][..SLOT_LEN], render_slot(&head(43)));
        assert_eq!(&now[HEADER.len() + SLOT_LEN..], render_slot(&head(42)));
        write_head(&mut held, &path, &head(44)).unwrap();
        let now = std::fs::read_to_string(&path).unwrap();
        assert_eq!(&now[HEADER.len()..][..SLOT_LEN], render_slot(&head(43)));
        assert_eq!(&now[HEADER.len() + SLOT_LEN..], render_slot(&head(44)));
        assert_eq!(read(&path), Ok(Some(head(44))));
    }

    #[test]
    fn bad_head_files_say_what_is_wrong() {
        let good = format!("{MAGIC_V1}\nseq 3\nhash {}\n", hex::encode([3u8; 32]));
        let err = |t: &str| parse(t.as_bytes()).unwrap_err();
        assert!(err("hello").contains("does not start"));
        assert!(err(&good.replace("seq 3", "seq x")).contains("not a record number"));
        assert!(err(&good.replace("seq 3", "seq 0")).contains("not a record number"));
        assert!(err(&good.replace("hash ", "hash 00")).contains("not a SHA-256"));
        assert!(err(&format!("{MAGIC_V1}\nseq 3\n")).contains("no 'hash'"));
        // Both slots bad: the file is unreadable, and says why for each.
        let mut two = render(&head(5)).into_bytes();
        two[HEADER.len() + 10] = b'9';
        two[HEADER.len() + SLOT_LEN + 30] = 0xff;
        let e = parse(&two).unwrap_err();
        assert!(e.contains("neither of its two slots is valid"), "{e}");
        assert!(e.contains("does not match its checksum"), "{e}");
        assert!(e.contains("not text"), "{e}");
        let mut long = render(&head(5));
        long.push_str("seq 9\n");
        assert!(err(&long).contains("text after its two slots"));
        assert!(err("overlord-audit-head 2\nseq 1\n").contains("first line"));
    }

    /// A head lower than the file's (a store put back and accepted): the file is rewritten
    /// whole, so it says what was last written, as the one-head layout did.
    #[test]
    fn a_lower_head_rewrites_the_whole_file() {
        let (_dir, path) = written(&[head(8), head(9)]);
        let mut held = None;
        write_head(&mut held, &path, &head(3)).unwrap();
        assert_eq!(read(&path), Ok(Some(head(3))));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&head(3)));
        // The same head again changes nothing that matters.
        write_head(&mut held, &path, &head(3)).unwrap();
        assert_eq!(read(&path), Ok(Some(head(3))));
    }

    #[test]
    fn a_new_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = written(&[head(1)]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(replace(&path, &head(2)).is_ok());
    }

    fn any_head() -> impl Strategy<Value = Head> {
        (1u64..=i64::MAX as u64, any::<[u8; 32]>()).prop_map(|(seq, hash)| Head { seq, hash })
    }

    proptest! {
        /// Whatever bytes a head file holds — any, or after either layout's first line —
        /// parsing them never panics.
        #[test]
        fn parsing_any_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            prefix in 0usize..3,
        ) {
            let mut text = [Vec::new(), HEADER.as_bytes().to_vec(), format!("{MAGIC_V1}\n").into_bytes()][prefix].clone();
            text.extend_from_slice(&bytes);
            let _ = parse(&text);
            let slot_tail = render(&head(3)).into_bytes();
            let mut torn = slot_tail.clone();
            let n = bytes.len().min(torn.len() - HEADER.len());
            torn[HEADER.len()..HEADER.len() + n].copy_from_slice(&bytes[..n]);
            let _ = parse(&torn);
        }

        /// Any head written (once, or after others through the same handle) is read back.
        #[test]
        fn any_head_written_is_read_back(
            earlier in proptest::collection::vec(any_head(), 0..4),
            last in any_head(),
        ) {
            let mut heads: Vec<Head> = earlier;
            heads.sort_by_key(|h| h.seq);
            heads.retain(|h| h.seq < last.seq);
            heads.push(last);
            let (_dir, path) = written(&heads);
            prop_assert_eq!(read(&path), Ok(Some(last)));
        }

        /// A slot garbled anywhere (a byte changed) is ignored: the other slot is read.
        #[test]
        fn a_garbled_slot_reads_the_other(
            a in any_head(),
            b in any_head(),
            slot in 0usize..2,
            at in 0usize..SLOT_LEN,
            flip in 1u8..=255,
        ) {
            prop_assume!(a.seq != b.seq);
            let (lo, hi) = if a.seq < b.seq { (a, b) } else { (b, a) };
            let (_dir, path) = written(&[lo, hi]);
            let mut bytes = std::fs::read(&path).unwrap();
            let slots = [&bytes[HEADER.len()..][..SLOT_LEN], &bytes[HEADER.len() + SLOT_LEN..]];
            let kept_slot = if slots[slot] == render_slot(&hi).as_bytes() { lo } else { hi };
            bytes[HEADER.len() + slot * SLOT_LEN + at] ^= flip;
            prop_assert_eq!(parse(&bytes), Ok(Some(kept_slot)));
        }

        /// A write torn after any number of bytes (a crash, or a reader racing the writer)
        /// reads the head before it, or the new one when the write was complete.
        #[test]
        fn a_torn_write_reads_the_head_before_it(
            a in any_head(),
            gap in 1u64..1000,
            next in any::<[u8; 32]>(),
            cut in 0usize..=SLOT_LEN,
        ) {
            let a = Head { seq: a.seq.min(i64::MAX as u64 - 2000), ..a };
            let b = Head { seq: a.seq + gap, hash: a.hash };
            let c = Head { seq: b.seq + 1, hash: next };
            let (_dir, path) = written(&[a, b]);
            let mut bytes = std::fs::read(&path).unwrap();
            // `c` goes to the older slot, the one holding `a`.
            let older = if bytes[HEADER.len()..][..SLOT_LEN] == *render_slot(&a).as_bytes() { 0 } else { 1 };
            let at = HEADER.len() + older * SLOT_LEN;
            let new = render_slot(&c);
            bytes[at..at + cut].copy_from_slice(&new.as_bytes()[..cut]);
            let got = parse(&bytes).unwrap().unwrap();
            prop_assert!(got == b || (got == c && cut >= SLOT_LEN - 9), "{:?} at {}", got, cut);
        }
    }
}

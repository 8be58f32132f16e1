//! A blob's bytes read once, with the size limit kept without a separate size read: a loose
//! object is inflated here (its header first, so an oversize blob is refused before its body
//! is inflated, into a buffer of its exact size), a packed one through libgit2's object
//! database and measured after the read. libgit2's header read, which sized every blob before
//! reading it, walks a delta's chain a second time: a sixth of a 5,000-file `--stat`.

use std::io::ErrorKind;
use std::ops::Deref;
use std::path::PathBuf;

use flate2::{Decompress, FlushDecompress, Status};
use git2::{Odb, OdbObject, Oid, Repository};

use super::sides::{git, DiffError};

/// A blob's bytes: borrowed from libgit2's object (no copy) or inflated here.
pub enum Bytes<'o> {
    Odb(OdbObject<'o>),
    Owned(Vec<u8>),
}

impl Deref for Bytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Odb(o) => o.data(),
            Bytes::Owned(v) => v,
        }
    }
}

impl Default for Bytes<'_> {
    fn default() -> Self {
        Bytes::Owned(Vec::new())
    }
}

/// What reading a blob with a size limit gives.
pub enum Blob<'o> {
    Bytes(Bytes<'o>),
    /// Larger than the limit: its size, its body not kept (a loose one not even inflated).
    TooLarge(u64),
}

/// The repository's objects: the loose ones read here, the others through its object
/// database.
pub struct Objects<'r> {
    loose: LooseDir,
    odb: Odb<'r>,
}

impl<'r> Objects<'r> {
    pub fn new(repo: &'r Repository) -> Result<Self, DiffError> {
        Ok(Objects {
            // A linked worktree's objects are its main repository's.
            loose: LooseDir::new(repo.commondir().join("objects")),
            odb: repo.odb().map_err(git)?,
        })
    }

    pub fn loose(&self) -> &LooseDir {
        &self.loose
    }

    /// The blob `id` (empty for the zero id: a side that is not there), or its size when
    /// it is larger than `max` bytes.
    pub fn read(&self, id: Oid, max: u64) -> Result<Blob<'_>, DiffError> {
        if id.is_zero() {
            return Ok(Blob::Bytes(Bytes::default()));
        }
        if let Some(loose) = self.loose.read(id, max)? {
            return Ok(loose);
        }
        let object = self.odb.read(id).map_err(git)?;
        if object.kind() != git2::ObjectType::Blob {
            return Err(not_a_blob(id));
        }
        let size = object.len() as u64;
        Ok(if size > max {
            Blob::TooLarge(size)
        } else {
            Blob::Bytes(Bytes::Odb(object))
        })
    }

    /// The size of blob `id` from its header, for the rare caller that wants the size of a
    /// blob it does not read (the other side of a file found too large).
    pub fn size(&self, id: Oid) -> u64 {
        if id.is_zero() {
            return 0;
        }
        self.odb.read_header(id).map_or(0, |(size, _)| size as u64)
    }
}

/// The loose objects' directory, with which of its 256 fan-out directories exist (listed
/// once): in a packed repository no object costs a failed open.
pub struct LooseDir {
    dir: PathBuf,
    fanout: [bool; 256],
}

impl LooseDir {
    pub fn new(dir: PathBuf) -> Self {
        let mut fanout = [false; 256];
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let (2, Ok(n)) = (name.len(), u8::from_str_radix(&name, 16)) {
                fanout[n as usize] = true;
            }
        }
        LooseDir { dir, fanout }
    }

    fn path(&self, id: Oid) -> Option<PathBuf> {
        if !self.fanout[id.as_bytes()[0] as usize] {
            return None;
        }
        let hex = id.to_string();
        Some(self.dir.join(&hex[..2]).join(&hex[2..]))
    }

    /// The size of `id`'s loose object file (compressed), when it is loose.
    pub fn compressed_len(&self, id: Oid) -> Option<u64> {
        std::fs::metadata(self.path(id)?).ok().map(|m| m.len())
    }

    /// Blob `id` from its loose object file, or `None` when it is not loose (packed, or in
    /// an alternate object store: libgit2 reads those).
    pub fn read(&self, id: Oid, max: u64) -> Result<Option<Blob<'static>>, DiffError> {
        let Some(path) = self.path(id) else {
            return Ok(None);
        };
        let compressed = match std::fs::read(&path) {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DiffError::Git(format!("reading {}: {e}", path.display()))),
        };
        inflate_blob(&compressed, id, max).map(Some)
    }
}

fn not_a_blob(id: Oid) -> DiffError {
    DiffError::Git(format!("object {id} is not a blob"))
}

fn corrupt(id: Oid, why: &str) -> DiffError {
    DiffError::Git(format!("loose object {id} is corrupt: {why}"))
}

/// Bytes inflated first: enough for any header (`blob ` and a 20-digit size and a NUL).
const HEADER_MAX: usize = 32;

/// A loose object's zlib stream inflated: its `blob <size>\0` header checked first, then
/// (within `max`) its body into a buffer of exactly its size.
fn inflate_blob(compressed: &[u8], id: Oid, max: u64) -> Result<Blob<'static>, DiffError> {
    let mut z = Decompress::new(true);
    let mut head = [0u8; HEADER_MAX];
    let status = z
        .decompress(compressed, &mut head, FlushDecompress::None)
        .map_err(|e| corrupt(id, &e.to_string()))?;
    let got = z.total_out() as usize;
    let Some(nul) = head[..got].iter().position(|&b| b == 0) else {
        return Err(corrupt(id, "no object header"));
    };
    let header = std::str::from_utf8(&head[..nul]).unwrap_or("");
    let size = match header.split_once(' ') {
        Some(("blob", n)) => n.parse::<u64>().map_err(|_| corrupt(id, "bad size"))?,
        Some(_) => return Err(not_a_blob(id)),
        None => return Err(corrupt(id, "no object header")),
    };
    if size > max {
        return Ok(Blob::TooLarge(size));
    }
    let mut body = Vec::with_capacity(size as usize);
    body.extend_from_slice(&head[nul + 1..got]);
    let mut status = status;
    while status != Status::StreamEnd && body.len() as u64 <= size {
        if body.len() == body.capacity() {
            // A stream longer than its header says: room for one more byte shows it.
            body.reserve(1);
        }
        let (used, had) = (z.total_in(), body.len());
        status = z
            .decompress_vec(
                &compressed[used as usize..],
                &mut body,
                FlushDecompress::Finish,
            )
            .map_err(|e| corrupt(id, &e.to_string()))?;
        if status != Status::StreamEnd && z.total_in() == used && body.len() == had {
            return Err(corrupt(id, "truncated"));
        }
    }
    if body.len() as u64 != size {
        return Err(corrupt(id, "its size is not its header's"));
    }
    Ok(Blob::Bytes(Bytes::Owned(body)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::ZlibEncoder;
    use flate2::Compression;
    use git2::Oid;

    use crate::core::diff::blob::{inflate_blob, Blob};

    fn zlib(raw: &[u8]) -> Vec<u8> {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(raw).unwrap();
        z.finish().unwrap()
    }

    fn object(kind: &str, body: &[u8]) -> Vec<u8> {
        let mut raw = format!("{kind} {}\0", body.len()).into_bytes();
        raw.extend_from_slice(body);
        zlib(&raw)
    }

    fn bytes(b: Blob<'_>) -> Vec<u8> {
        match b {
            Blob::Bytes(b) => b.to_vec(),
            Blob::TooLarge(n) => panic!("too large: {n}"),
        }
    }

    #[test]
    fn a_loose_blob_inflates_to_its_body_within_the_limit_and_to_its_size_beyond() {
        let id = Oid::zero();
        for body in [
            &b""[..],
            b"x",
            b"short\n",
            &b"a longer line of text\n".repeat(5_000),
        ] {
            let got = inflate_blob(&object("blob", body), id, 1 << 20).unwrap();
            assert_eq!(bytes(got), body);
        }
        // Over the limit: the size from the header, the body never inflated.
        let big = b"0123456789\n".repeat(10_000);
        match inflate_blob(&object("blob", &big), id, 100).unwrap() {
            Blob::TooLarge(n) => assert_eq!(n, big.len() as u64),
            Blob::Bytes(_) => panic!("an oversize blob was read"),
        }
        // Exactly at the limit is read.
        assert_eq!(
            bytes(inflate_blob(&object("blob", b"12345"), id, 5).unwrap()),
            b"12345"
        );
    }

    #[test]
    fn a_broken_or_foreign_loose_object_is_a_clear_error() {
        let id = Oid::zero();
        let err = |data: &[u8]| match inflate_blob(data, id, 1 << 20) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted"),
        };
        assert!(err(&object("tree", b"x")).contains("is not a blob"));
        let whole = object("blob", &b"text\n".repeat(1_000));
        assert!(err(&whole[..whole.len() / 2]).contains("corrupt"));
        assert!(err(b"not zlib at all").contains("corrupt"));
        // A header that promises more or fewer bytes than the stream holds.
        assert!(err(&zlib(b"blob 10\0short")).contains("size"));
        assert!(err(&zlib(b"blob 2\0longer than two")).contains("size"));
        assert!(err(&zlib(b"blob x\0")).contains("bad size"));
        assert!(err(&zlib(b"no header")).contains("no object header"));
    }
}

//! The hash chain: each record's SHA-256 covers the previous record's hash, its own sequence
//! number, topic, timestamp and canonical JSON body, so changing, removing, reordering or
//! inserting any record breaks the chain at that point.

use sha2::{Digest, Sha256};

use crate::protocol::Topic;

pub type Hash = [u8; 32];

/// The `prev` of the first record.
pub const GENESIS: Hash = [0u8; 32];

pub fn hash_record(prev: &Hash, seq: u64, topic: Topic, at: &str, body: &str) -> Hash {
    hash_parts(
        prev,
        seq,
        topic.as_str().as_bytes(),
        at.as_bytes(),
        body.as_bytes(),
    )
}

/// The same hash over raw column bytes (verification reads them without copying).
pub fn hash_parts(prev: &Hash, seq: u64, topic: &[u8], at: &[u8], body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    // Lengths make the encoding unambiguous (no field can bleed into the next).
    h.update((topic.len() as u32).to_be_bytes());
    h.update(topic);
    h.update((at.len() as u32).to_be_bytes());
    h.update(at);
    h.update((body.len() as u64).to_be_bytes());
    h.update(body);
    h.finalize().into()
}

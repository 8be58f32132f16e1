//! The audit store's records: one about to be appended, and one as stored (with its place
//! in the hash chain).

use super::chain::Hash;
use crate::protocol::Topic;

/// A record about to be appended.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub topic: Topic,
    pub at: String,
    /// Canonical JSON of the command, response or event.
    pub body: String,
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub seq: u64,
    pub topic: Topic,
    pub at: String,
    pub body: String,
    pub prev: Hash,
    pub hash: Hash,
}

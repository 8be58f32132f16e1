//! Clarifications (seed 001 command flow: question, answer, linked by id).

use serde::{Deserialize, Serialize};

use super::ids::{ClarificationId, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clarification {
    pub id: ClarificationId,
    pub agent: String,
    pub question: String,
    pub asked_by: String,
    pub asked_at: Timestamp,
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
}

//! An ACP agent's permission request asked of the human (issue 26): the concern that carries
//! it (category [`CATEGORY`]) and the three answers a human gives it as the note of
//! `/resolve` — `allow once`, `allow for the session`, `reject` — shared by the core (which
//! refuses any other note from a human), the console, Discord's buttons and the supervisor
//! (which hands the answer to the waiting `acp-client`).

use serde::{Deserialize, Serialize};

/// The category of a concern that asks the human for a permission.
pub const CATEGORY: &str = "permission";

/// A human's answer to a permission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// This request only.
    AllowOnce,
    /// This request and every identical one of the same run (same tool kind, title and
    /// files): the client answers those itself.
    AllowSession,
    Reject,
}

/// What the human may write, for messages.
pub const ANSWERS: &str = "allow once | allow for the session | reject";

impl Answer {
    pub const ALL: [Answer; 3] = [Answer::AllowOnce, Answer::AllowSession, Answer::Reject];

    /// The note of `/resolve` that gives this answer (also the button's label).
    pub fn note(self) -> &'static str {
        match self {
            Answer::AllowOnce => "allow once",
            Answer::AllowSession => "allow for the session",
            Answer::Reject => "reject",
        }
    }

    /// The ACP option kind the client selects for it.
    pub fn option_kind(self) -> &'static str {
        match self {
            Answer::AllowOnce => "allow_once",
            Answer::AllowSession => "allow_always",
            Answer::Reject => "reject_once",
        }
    }

    /// Reads a note of `/resolve` (case and `-`/`_` do not matter; `allow` alone is once,
    /// `deny` is reject); the error says what is accepted.
    pub fn parse(note: &str) -> Result<Answer, String> {
        let n: String = note
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == '-' || c == '_' { ' ' } else { c })
            .collect();
        let n = n.split_whitespace().collect::<Vec<_>>().join(" ");
        match n.as_str() {
            "allow once" | "allow" | "once" | "allow_once" => Ok(Answer::AllowOnce),
            "allow for the session"
            | "allow for session"
            | "allow session"
            | "allow always"
            | "session" => Ok(Answer::AllowSession),
            "reject" | "deny" | "reject once" => Ok(Answer::Reject),
            _ => Err(format!(
                "a permission request is answered with one of: {ANSWERS} (not {:?})",
                note.trim()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_and_others_say_what_is_accepted() {
        for a in Answer::ALL {
            assert_eq!(Answer::parse(a.note()), Ok(a));
        }
        assert_eq!(Answer::parse(" Allow-Once "), Ok(Answer::AllowOnce));
        assert_eq!(Answer::parse("allow_session"), Ok(Answer::AllowSession));
        assert_eq!(Answer::parse("deny"), Ok(Answer::Reject));
        let e = Answer::parse("sure").unwrap_err();
        assert!(e.contains(ANSWERS) && e.contains("\"sure\""), "{e}");
        assert!(Answer::parse("").is_err());
    }
}

//! Permission requests the rules send to the human (`ask`): the client prints a
//! `permission asked [pN]: …` note (the supervisor raises a concern for it) and waits for the
//! answer line the supervisor writes to the client's stdin when a human resolved the concern:
//!
//! ```text
//! {"key": "<the run's key>", "permission": "p1", "answer": "allow_once" | "allow_session" | "reject", "by": "console:alice"}
//! ```
//!
//! The key is stdin's first line (`{"key": "…"}`), read before the agent is started: a line
//! the agent manages to write into that stdin itself does not carry it and is ignored.
//!
//! "Allow for the session" is remembered for the run: an identical later request (same tool
//! kind, title and files) is allowed here without asking again. An unanswered request is
//! rejected after the timeout; when stdin closes (nobody can answer any more) every waiting
//! request is rejected and later ones are not asked; a cancelled turn cancels them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::oneshot;

use crate::protocol::permission::Answer;

/// How a request that was asked ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// A human answered (`by`: who, from where).
    Answered { answer: Answer, by: String },
    /// Nobody answered within the timeout.
    TimedOut(Duration),
    /// Nobody can answer any more (stdin closed).
    Gone,
    /// The turn was cancelled.
    Cancelled,
}

/// An answer line as the supervisor writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerLine {
    #[serde(default)]
    pub key: String,
    pub permission: String,
    pub answer: Answer,
    #[serde(default)]
    pub by: String,
}

#[derive(Default)]
struct Inner {
    next: u64,
    waiting: HashMap<String, oneshot::Sender<Asked>>,
    /// Requests allowed for the session, by [`key`], with who allowed them.
    session: HashMap<String, String>,
    /// Stdin closed: nobody answers any more.
    closed: bool,
}

/// The requests waiting for the human, shared by the permission handler and stdin's reader.
#[derive(Clone)]
pub struct Asks {
    inner: Arc<Mutex<Inner>>,
    pub timeout: Duration,
    /// What every answer line must carry.
    key: Option<String>,
}

/// Reads stdin's first line, `{"key": "…"}`: the key of the run's answers.
pub fn read_key(r: &mut impl std::io::BufRead) -> Result<String, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KeyLine {
        key: String,
    }
    let mut line = String::new();
    let bad = |why: String| {
        format!(
            "--answers-on-stdin: the first line of stdin must be {{\"key\": \"<key>\"}} ({why})"
        )
    };
    match r.read_line(&mut line) {
        Ok(0) => return Err(bad("stdin ended".into())),
        Ok(_) => {}
        Err(e) => return Err(bad(e.to_string())),
    }
    let k: KeyLine = serde_json::from_str(line.trim()).map_err(|e| bad(e.to_string()))?;
    if k.key.trim().len() < 16 {
        return Err(bad("the key is shorter than 16 characters".into()));
    }
    Ok(k.key)
}

/// What makes two requests identical for "allow for the session".
pub fn key(kind: &str, title: &str, files: &[String]) -> String {
    format!("{kind}\u{1f}{title}\u{1f}{}", files.join("\u{1e}"))
}

/// What one line on stdin did: `Err` says why it was ignored.
pub type LineResult = Result<(), String>;

impl Asks {
    pub fn new(timeout: Duration, key: Option<String>) -> Asks {
        Asks {
            inner: Arc::new(Mutex::new(Inner::default())),
            timeout,
            key,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who allowed identical requests for the session, if someone did.
    pub fn allowed_for_session(&self, key: &str) -> Option<String> {
        self.lock().session.get(key).cloned()
    }

    /// A new request to ask: its id and where its end arrives; `None` when nobody can answer.
    pub fn open(&self) -> Option<(String, oneshot::Receiver<Asked>)> {
        let mut g = self.lock();
        if g.closed {
            return None;
        }
        g.next += 1;
        let id = format!("p{}", g.next);
        let (tx, rx) = oneshot::channel();
        g.waiting.insert(id.clone(), tx);
        Some((id, rx))
    }

    /// Waits for request `id`'s end (the timeout included); remembers "allow for the session".
    pub async fn wait(&self, id: &str, rx: oneshot::Receiver<Asked>, key: &str) -> Asked {
        let end = match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(end)) => end,
            Ok(Err(_)) => Asked::Gone,
            Err(_) => Asked::TimedOut(self.timeout),
        };
        let mut g = self.lock();
        g.waiting.remove(id);
        if let Asked::Answered {
            answer: Answer::AllowSession,
            by,
        } = &end
        {
            g.session.insert(key.to_string(), by.clone());
        }
        end
    }

    /// One line of stdin: an answer for a waiting request.
    pub fn on_line(&self, line: &str) -> LineResult {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        let a: AnswerLine = serde_json::from_str(line).map_err(|e| {
            format!(
                "answer ignored: a malformed answer line on stdin ({e}): {}",
                line.chars().take(200).collect::<String>()
            )
        })?;
        if self.key.as_deref() != Some(a.key.as_str()) {
            return Err(format!(
                "answer ignored: an answer for {:?} without the run's key (not from Overlord)",
                a.permission
            ));
        }
        let tx = self.lock().waiting.remove(&a.permission).ok_or_else(|| {
            format!(
                "answer ignored: permission request {:?}: no such request is waiting (unknown, already answered or expired)",
                a.permission
            )
        })?;
        let by = if a.by.trim().is_empty() {
            "someone".to_string()
        } else {
            a.by
        };
        let _ = tx.send(Asked::Answered {
            answer: a.answer,
            by,
        });
        Ok(())
    }

    /// Stdin closed: every waiting request ends, and none is asked from now on.
    pub fn close(&self) {
        let mut g = self.lock();
        g.closed = true;
        for (_, tx) in g.waiting.drain() {
            let _ = tx.send(Asked::Gone);
        }
    }

    /// The turn is cancelled: every waiting request is too.
    pub fn cancel_all(&self) {
        let mut g = self.lock();
        for (_, tx) in g.waiting.drain() {
            let _ = tx.send(Asked::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef";

    #[test]
    fn the_key_comes_first_and_an_answer_without_it_is_ignored() {
        let mut r = std::io::Cursor::new("{\"key\": \"0123456789abcdef\"}\nrest\n");
        assert_eq!(read_key(&mut r).unwrap(), KEY);
        for bad in ["", "{\"key\": \"short\"}\n", "hello\n"] {
            let e = read_key(&mut std::io::Cursor::new(bad)).unwrap_err();
            assert!(e.contains("the first line of stdin must be"), "{e}");
        }
        let asks = Asks::new(Duration::from_secs(5), Some(KEY.into()));
        let (_id, _rx) = asks.open().unwrap();
        for forged in [
            r#"{"permission": "p1", "answer": "allow_once"}"#,
            r#"{"key": "fedcba9876543210", "permission": "p1", "answer": "allow_once"}"#,
        ] {
            let e = asks.on_line(forged).unwrap_err();
            assert!(e.contains("without the run's key"), "{e}");
        }
        // Still waiting: the right answer is taken.
        asks.on_line(r#"{"key": "0123456789abcdef", "permission": "p1", "answer": "reject"}"#)
            .unwrap();
    }

    #[tokio::test]
    async fn answers_reach_their_request_and_bad_lines_say_why() {
        let asks = Asks::new(Duration::from_secs(5), Some(KEY.into()));
        let (id, rx) = asks.open().unwrap();
        assert_eq!(id, "p1");
        let k = key("execute", "rm -rf build/", &[]);
        assert!(asks
            .on_line("not json")
            .unwrap_err()
            .contains("malformed answer line"));
        assert!(asks
            .on_line(r#"{"key": "0123456789abcdef", "permission": "p1", "answer": "maybe"}"#)
            .unwrap_err()
            .contains("malformed"));
        assert!(asks
            .on_line(r#"{"key": "0123456789abcdef", "permission": "p9", "answer": "reject"}"#)
            .unwrap_err()
            .contains("\"p9\": no such request"));
        asks.on_line(r#"{"key": "0123456789abcdef", "permission": "p1", "answer": "allow_session", "by": "console:alice"}"#)
            .unwrap();
        assert_eq!(
            asks.wait(&id, rx, &k).await,
            Asked::Answered {
                answer: Answer::AllowSession,
                by: "console:alice".into()
            }
        );
        assert_eq!(
            asks.allowed_for_session(&k).as_deref(),
            Some("console:alice")
        );
        // Answered twice: the second is for a request no longer waiting.
        assert!(asks
            .on_line(r#"{"key": "0123456789abcdef", "permission": "p1", "answer": "reject"}"#)
            .is_err());
        assert_eq!(
            asks.allowed_for_session(&key("execute", "rm -rf dist/", &[])),
            None
        );
    }

    #[tokio::test]
    async fn unanswered_requests_time_out_and_end_when_stdin_closes() {
        let asks = Asks::new(Duration::from_millis(50), Some(KEY.into()));
        let (id, rx) = asks.open().unwrap();
        assert_eq!(
            asks.wait(&id, rx, "k").await,
            Asked::TimedOut(Duration::from_millis(50))
        );
        // Expired: its late answer is refused.
        assert!(asks
            .on_line(r#"{"key": "0123456789abcdef", "permission": "p1", "answer": "allow_once"}"#)
            .is_err());
        let asks = Asks::new(Duration::from_secs(5), Some(KEY.into()));
        let (id, rx) = asks.open().unwrap();
        asks.close();
        assert_eq!(asks.wait(&id, rx, "k").await, Asked::Gone);
        assert!(asks.open().is_none());
    }
}

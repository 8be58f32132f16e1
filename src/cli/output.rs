//! What every subcommand prints its outcome with: the `--json` schema version, `Failed` (a
//! failure already explained, with its exit code), errors on stderr, JSON on stdout and a
//! core's reply in words or JSON.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::protocol::{Reply, ReplyData};

/// Version of the `--json` documents; bumped only on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// A failure already explained to the user; carries the exit code.
pub(super) struct Failed(pub(super) u8);

pub(super) type Outcome = Result<(), Failed>;

/// `--json` was asked for: every outcome is a JSON document on stdout, failures included.
static JSON_MODE: AtomicBool = AtomicBool::new(false);
/// A JSON document was printed (a failure after it adds none).
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

/// Whether the command line asks for `--json` (before any `--`): decided before the command
/// line is parsed, so that even its usage errors answer in JSON.
pub(super) fn wants_json(args: &[std::ffi::OsString]) -> bool {
    let wants = args
        .iter()
        .skip(1)
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a.as_os_str() == "--json");
    JSON_MODE.store(wants, Ordering::Relaxed);
    wants
}

/// A failure: the message on stderr, and under `--json` an error document on stdout (unless
/// the command already printed its own).
pub(super) fn fail(message: impl std::fmt::Display) -> Failed {
    eprintln!("error: {message}");
    json_error("failed", &message.to_string());
    Failed(1)
}

/// Under `--json`, `{"schema_version":…, "ok": false, "error": {"code", "message"}}` on stdout
/// when nothing was printed yet.
pub(super) fn json_error(code: &str, message: &str) {
    if JSON_MODE.load(Ordering::Relaxed) && !JSON_PRINTED.load(Ordering::Relaxed) {
        let _ = print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "ok": false,
            "error": { "code": code, "message": message },
        }));
    }
}

/// A JSON document is being streamed to stdout by the command itself (a failure after its
/// start adds no second document).
pub(super) fn json_started() {
    JSON_PRINTED.store(true, Ordering::Relaxed);
}

pub(super) fn print_json(value: &impl serde::Serialize) -> Outcome {
    JSON_PRINTED.store(true, Ordering::Relaxed);
    // Made whole before anything is printed (a failure prints an error instead), and made
    // inert as it is written: no second pass over a document of megabytes.
    let mut doc = Vec::with_capacity(1 << 16);
    crate::protocol::visible::write_json(&mut doc, value).map_err(fail)?;
    doc.push(b'\n');
    std::io::stdout().lock().write_all(&doc).map_err(fail)
}

/// Writes `text` to stdout or stderr with every control character but line breaks and tabs
/// shown visibly (the CLI's `print!` family expands to this). A write error (a closed pipe)
/// is ignored: there is nobody left to tell.
pub(super) fn put(to_stderr: bool, text: &str) {
    let text = crate::protocol::visible::text(text);
    let _ = if to_stderr {
        std::io::stderr().lock().write_all(text.as_bytes())
    } else {
        std::io::stdout().lock().write_all(text.as_bytes())
    };
}

pub(super) fn render_reply(reply: &Reply, json: bool) -> Outcome {
    if json {
        print_json(reply)?;
    } else if reply.ok {
        match &reply.data {
            ReplyData::Status(report) => print!("{}", report.render_text()),
            _ => {
                let msg = reply.message.trim_end();
                println!("{msg}");
            }
        }
    } else {
        eprintln!("error: {}", reply.message);
    }
    if reply.ok {
        Ok(())
    } else {
        Err(Failed(1))
    }
}

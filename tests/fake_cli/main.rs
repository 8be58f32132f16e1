//! `overlord-fake-agent`: a stand-in for an agent CLI (Codex, Claude Code, Gemini CLI, aider)
//! in the runtime's tests (`tests/agent_runtime.rs`). It replays a captured fixture on stdout
//! and checks that it was started the way the real CLI has to be (argv, working directory,
//! stdin). Standard library only; everything is driven by environment variables:
//!
//! | variable | effect |
//! |----------|--------|
//! | `FAKE_AGENT_EXPECT_ARGS` | the exact arguments, separated by `\x1f` (empty: none); else exit 97 |
//! | `FAKE_AGENT_EXPECT_CWD` | the working directory; else exit 98 |
//! | `FAKE_AGENT_STDIN` | `null`: stdin must be `/dev/null`; `claude`: stdin must be a pipe whose first line is a stream-json user message holding `FAKE_AGENT_EXPECT_PROMPT`; else exit 99 |
//! | `FAKE_AGENT_PIDFILE` | write this process's pid there |
//! | `FAKE_AGENT_CHILD_PIDFILE` | start `sleep 1000` in the same process group and write its pid there |
//! | `FAKE_AGENT_STDERR_LINES` | print that many lines on stderr first |
//! | `FAKE_AGENT_FIXTURE` | the file replayed on stdout, line by line (bytes as they are) |
//! | `FAKE_AGENT_DELAY_MS` | the pause before each line |
//! | `FAKE_AGENT_ON_INTERRUPT` | (`claude`) after the replay, wait for a `control_request` interrupt on stdin, then print this file's lines with `{request_id}` replaced by the request's id; anything else: exit 96 |
//! | `FAKE_AGENT_WAIT_EOF` | (`claude`) `1`: then read stdin to its end before exiting, as Claude's input mode does |
//! | `FAKE_AGENT_HANG` | `1`: then sleep forever |
//! | `FAKE_AGENT_EXIT` | the exit code; default: `<fixture>.exitcode` (`exit=1`) when present, else 0 |
//! | `FAKE_AGENT_VERSION` | what `--version` (the only argument) prints; default `fake 1.0` |
//!
//! Signals it should ignore are set up by the test (a `trap "" INT` wrapper script: ignored
//! dispositions survive `exec`).
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{exit, Command, Stdio};
use std::time::Duration;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn die(code: i32, message: &str) -> ! {
    eprintln!("overlord-fake-agent: {message}");
    exit(code)
}

/// Writes `text` to `path` atomically (a reader never sees half a pid).
fn write_file(path: &str, text: &str) {
    let tmp = format!("{path}.tmp");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)) {
        die(95, &format!("cannot write {path}: {e}"));
    }
}

/// A JSON string literal, escaped as serde_json escapes it.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON without the spaces between tokens (outside strings), so a check does not depend
/// on how the writer spaced it.
fn compact(json: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The value of `"key":"…"` in compact JSON (no escapes in the value).
fn string_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let len = json[start..].find('"')?;
    Some(&json[start..start + len])
}

fn check_args() {
    let Ok(expected) = std::env::var("FAKE_AGENT_EXPECT_ARGS") else {
        return;
    };
    let expected: Vec<&str> = if expected.is_empty() {
        Vec::new()
    } else {
        expected.split('\u{1f}').collect()
    };
    let got: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if got != expected {
        die(
            97,
            &format!("arguments differ\nexpected: {expected:?}\ngot:      {got:?}"),
        );
    }
}

fn check_cwd() {
    let Some(expected) = var("FAKE_AGENT_EXPECT_CWD") else {
        return;
    };
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let got = std::env::current_dir().unwrap_or_else(|e| die(98, &format!("no cwd: {e}")));
    if canon(&got) != canon(Path::new(&expected)) {
        die(
            98,
            &format!(
                "working directory differs\nexpected: {expected}\ngot:      {}",
                got.display()
            ),
        );
    }
}

/// What fd 0 is (`/dev/null`, `pipe:[…]`, a tty, a file).
fn stdin_target() -> String {
    std::fs::read_link("/proc/self/fd/0")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// Claude's input mode: the first line on stdin is the user message with the prompt.
fn check_claude_message(stdin: &mut impl BufRead) {
    let target = stdin_target();
    if !target.starts_with("pipe:") {
        die(
            99,
            &format!("stdin should be a pipe for Claude's input mode, not {target}"),
        );
    }
    let mut line = String::new();
    match stdin.read_line(&mut line) {
        Ok(0) => die(99, "stdin ended before the user message"),
        Ok(_) => {}
        Err(e) => die(99, &format!("cannot read stdin: {e}")),
    }
    if !line.ends_with('\n') {
        die(
            99,
            &format!("the user message is not a whole line: {line:?}"),
        );
    }
    let json = compact(line.trim_end());
    let prompt = var("FAKE_AGENT_EXPECT_PROMPT").unwrap_or_default();
    let wanted = format!("\"content\":{}", json_string(&prompt));
    let ok = json.starts_with('{')
        && json.ends_with('}')
        && json.contains("\"type\":\"user\"")
        && json.contains("\"role\":\"user\"")
        && json.contains(&wanted);
    if !ok {
        die(
            99,
            &format!("the first stdin line is not a user message with the prompt\nexpected to contain: {wanted}\ngot: {line}"),
        );
    }
}

fn spawn_child(pidfile: &str) {
    // Same process group as this process (the default), stdout inherited: a leftover that
    // keeps the pipe open, as a CLI's helper process would.
    match Command::new("sleep")
        .arg("1000")
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(child) => write_file(pidfile, &child.id().to_string()),
        Err(e) => die(95, &format!("cannot start sleep: {e}")),
    }
}

fn replay(path: &str, delay: Duration) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| die(95, &format!("cannot read {path}: {e}")));
    let mut out = std::io::stdout().lock();
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if out.write_all(line).and_then(|()| out.flush()).is_err() {
            exit(1);
        }
    }
}

/// Waits for Claude's interrupt request and answers it with the lines of `answer`.
fn answer_interrupt(stdin: &mut impl BufRead, answer: &str) {
    let mut line = String::new();
    match stdin.read_line(&mut line) {
        Ok(0) => die(96, "stdin ended while waiting for the interrupt request"),
        Ok(_) => {}
        Err(e) => die(96, &format!("cannot read stdin: {e}")),
    }
    let json = compact(line.trim_end());
    let id = string_field(&json, "request_id");
    let is_interrupt = json.contains("\"type\":\"control_request\"")
        && json.contains("\"request\":{\"subtype\":\"interrupt\"}");
    let Some(id) = id.filter(|_| is_interrupt) else {
        die(
            96,
            &format!("expected a control_request interrupt on stdin, got: {line}"),
        );
    };
    let text = std::fs::read_to_string(answer)
        .unwrap_or_else(|e| die(95, &format!("cannot read {answer}: {e}")));
    let mut out = std::io::stdout().lock();
    for l in text.lines() {
        let l = l.replace("{request_id}", id);
        if writeln!(out, "{l}").and_then(|()| out.flush()).is_err() {
            exit(1);
        }
    }
}

fn exit_code(fixture: Option<&str>) -> i32 {
    if let Some(code) = var("FAKE_AGENT_EXIT") {
        return code
            .trim()
            .parse()
            .unwrap_or_else(|_| die(95, &format!("FAKE_AGENT_EXIT is not a number: {code}")));
    }
    let Some(fixture) = fixture else { return 0 };
    let file = PathBuf::from(format!("{fixture}.exitcode"));
    match std::fs::read_to_string(&file) {
        Ok(text) => text
            .trim()
            .strip_prefix("exit=")
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| {
                die(
                    95,
                    &format!("{}: not `exit=<code>`: {text:?}", file.display()),
                )
            }),
        Err(_) => 0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["--version"] {
        println!(
            "{}",
            var("FAKE_AGENT_VERSION").unwrap_or_else(|| "fake 1.0".into())
        );
        return;
    }
    if let Some(p) = var("FAKE_AGENT_PIDFILE") {
        write_file(&p, &std::process::id().to_string());
    }
    check_args();
    check_cwd();
    let claude = match var("FAKE_AGENT_STDIN").as_deref() {
        None => false,
        Some("null") => {
            let target = stdin_target();
            if target != "/dev/null" {
                die(99, &format!("stdin should be /dev/null, not {target}"));
            }
            let mut byte = [0u8; 1];
            if !matches!(std::io::stdin().read(&mut byte), Ok(0)) {
                die(99, "stdin is not at its end");
            }
            false
        }
        Some("claude") => true,
        Some(other) => die(95, &format!("FAKE_AGENT_STDIN: unknown mode {other}")),
    };
    let mut stdin = BufReader::new(std::io::stdin());
    if claude {
        check_claude_message(&mut stdin);
    }
    if let Some(p) = var("FAKE_AGENT_CHILD_PIDFILE") {
        spawn_child(&p);
    }
    if let Some(n) = var("FAKE_AGENT_STDERR_LINES") {
        let n: u64 = n
            .parse()
            .unwrap_or_else(|_| die(95, "FAKE_AGENT_STDERR_LINES: not a number"));
        let mut err = std::io::stderr().lock();
        for i in 0..n {
            let _ = writeln!(err, "stderr line {i}");
        }
    }
    let delay = Duration::from_millis(
        var("FAKE_AGENT_DELAY_MS")
            .map(|d| {
                d.parse()
                    .unwrap_or_else(|_| die(95, "FAKE_AGENT_DELAY_MS: not a number"))
            })
            .unwrap_or(0),
    );
    let fixture = var("FAKE_AGENT_FIXTURE");
    if let Some(f) = &fixture {
        replay(f, delay);
    }
    if claude {
        if let Some(answer) = var("FAKE_AGENT_ON_INTERRUPT") {
            answer_interrupt(&mut stdin, &answer);
        }
        if var("FAKE_AGENT_WAIT_EOF").as_deref() == Some("1") {
            let mut rest = String::new();
            loop {
                rest.clear();
                match stdin.read_line(&mut rest) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => eprintln!(
                        "overlord-fake-agent: more input after the turn: {}",
                        rest.trim_end()
                    ),
                }
            }
        }
    }
    if var("FAKE_AGENT_HANG").as_deref() == Some("1") {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    exit(exit_code(fixture.as_deref()));
}

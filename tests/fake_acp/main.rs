//! `overlord-fake-acp-agent`: a scripted agent speaking the Agent Client Protocol (JSON-RPC 2.0,
//! one message per line on stdio) for the `acp` adapter's tests (`tests/acp.rs`). Written by
//! hand with serde_json, not with the SDK, so the client is checked against the wire format.
//!
//! It answers `initialize` (refusing a client that does not advertise `fs.writeTextFile`) and
//! `session/new`, then on `session/prompt` plays the scenario named by `FAKE_ACP_SCENARIO`,
//! reporting what the client answered in its own message chunks (`observed: …`) so a test can
//! check the client's side of every exchange:
//!
//! | scenario | what it does |
//! |----------|--------------|
//! | `edit` (default) | a tool call that reads the missing `hello.txt` (must be "resource not found", -32002), writes it through the client and reads it back; a second that writes `../outside.txt` (must be refused); a third that asks permission to run `rm -rf build/`; reports its cost (`usage_update`, 0.01 then 0.0123 USD); ends with `end_turn` |
//! | `cancel` | a tool call, then waits for `session/cancel` and ends with `cancelled` |
//! | `refuse` | ends at once with `refusal` |
//! | `ask` | asks twice, the same, to run `rm -rf build/` (two tool calls) and reports both answers (`observed: permission 1 <option>`); a cancelled request waits for `session/cancel` and ends the turn `cancelled`. With `FAKE_ACP_ATTACK=1` it tries meanwhile to write an answer into its client's stdin (`/proc/<parent>/fd/0`) and reports how that went (`observed: stdin attack …`); with `FAKE_ACP_OVERLORD=<overlord-tui>` it also runs `overlord-tui cmd "/resolve C-1 allow for the session"` and reports what it was told (`observed: cli resolve …`) |
//! | `refuse-first` | attempt 1 (`OVERLORD_ATTEMPT`) refuses, a later one plays `edit` |
//!
//! With `FAKE_ACP_TOKENS=<in>,<out>` the turn's answer reports its tokens in
//! `_meta.quota.token_count`, as Gemini CLI does.
//! With `FAKE_ACP_LOAD=1` it advertises `loadSession`, answers `session/load` (replaying a
//! message of the history first, as the protocol says) and starts every turn with
//! `observed: session loaded <id>` or `observed: session new`.
//!
//! After its answer to the prompt it reads stdin to its end and exits 0.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};

use serde_json::{json, Value};

struct Wire {
    lines: std::io::Lines<std::io::StdinLock<'static>>,
    next_id: u64,
    cancelled: bool,
}

impl Wire {
    fn send(&self, v: Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }

    fn notify_update(&self, session: &str, update: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": "session/update",
            "params": {"sessionId": session, "update": update}}));
    }

    fn say(&self, session: &str, text: &str) {
        self.notify_update(
            session,
            json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}),
        );
    }

    /// Sends a request to the client and waits for its answer (notifications met meanwhile
    /// are noted: `session/cancel`).
    fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let Some(msg) = self.read() else {
                std::process::exit(3)
            };
            if msg.get("id").and_then(Value::as_u64) == Some(id) && msg.get("method").is_none() {
                return match msg.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
                };
            }
        }
    }

    fn read(&mut self) -> Option<Value> {
        loop {
            let line = self.lines.next()?.ok()?;
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v.get("method").and_then(Value::as_str) == Some("session/cancel") {
                self.cancelled = true;
            }
            return Some(v);
        }
    }
}

fn code(e: &Value) -> i64 {
    e.get("code").and_then(Value::as_i64).unwrap_or(0)
}

fn main() {
    let scenario = std::env::var("FAKE_ACP_SCENARIO").unwrap_or_else(|_| "edit".into());
    let mut w = Wire {
        lines: std::io::stdin().lock().lines(),
        next_id: 0,
        cancelled: false,
    };
    let mut cwd = String::new();
    let can_load = std::env::var("FAKE_ACP_LOAD").is_ok_and(|v| v == "1");
    let mut loaded: Option<String> = None;
    while let Some(msg) = w.read() {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        match msg.get("method").and_then(Value::as_str) {
            Some("initialize") => {
                let fs = &params["clientCapabilities"]["fs"];
                if fs["writeTextFile"] != json!(true) || fs["readTextFile"] != json!(true) {
                    w.send(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602,
                        "message": "this agent needs a client serving fs/read_text_file and fs/write_text_file"}}));
                    continue;
                }
                w.send(
                    json!({"jsonrpc": "2.0", "id": id, "result": {"protocolVersion": 1,
                    "agentCapabilities": {"loadSession": can_load}, "authMethods": [],
                    "agentInfo": {"name": "fake-acp", "version": "1.0.0"}}}),
                );
            }
            Some("session/new") => {
                cwd = params["cwd"].as_str().unwrap_or_default().to_string();
                w.send(
                    json!({"jsonrpc": "2.0", "id": id, "result": {"sessionId": "fake-session-1"}}),
                );
            }
            Some("session/load") if can_load => {
                cwd = params["cwd"].as_str().unwrap_or_default().to_string();
                let session = params["sessionId"].as_str().unwrap_or_default().to_string();
                w.say(&session, "replayed history");
                loaded = Some(session);
                w.send(json!({"jsonrpc": "2.0", "id": id, "result": {}}));
            }
            Some("session/prompt") => {
                let session = params["sessionId"].as_str().unwrap_or_default().to_string();
                let prompt = params["prompt"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if can_load {
                    let how = match &loaded {
                        Some(l) => format!("loaded {l}"),
                        None => "new".into(),
                    };
                    w.say(&session, &format!("observed: session {how} "));
                }
                let first = std::env::var("OVERLORD_ATTEMPT").map_or(true, |a| a == "1");
                let stop = match scenario.as_str() {
                    "cancel" => cancel(&mut w, &session),
                    "refuse" => "refusal",
                    "refuse-first" if first => "refusal",
                    "ask" => ask(&mut w, &session),
                    _ => edit(&mut w, &session, &cwd, &prompt),
                };
                let mut result = json!({"stopReason": stop});
                // As Gemini CLI reports a turn's tokens: in the answer's `_meta`.
                if let Some((i, o)) = std::env::var("FAKE_ACP_TOKENS")
                    .ok()
                    .as_deref()
                    .and_then(|t| t.split_once(','))
                {
                    result["_meta"] = json!({"quota": {"token_count": {
                        "input_tokens": i.parse::<u64>().unwrap_or(0),
                        "output_tokens": o.parse::<u64>().unwrap_or(0)
                    }, "model_usage": []}});
                }
                w.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
            }
            Some(_) if !id.is_null() => {
                w.send(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}}));
            }
            _ => {}
        }
    }
}

fn edit(w: &mut Wire, session: &str, cwd: &str, prompt: &str) -> &'static str {
    let hello = format!("{cwd}/hello.txt");
    let outside = format!("{cwd}/../outside.txt");
    w.say(session, &format!("Working on: {prompt}. "));
    w.notify_update(
        session,
        json!({"sessionUpdate": "plan", "entries": [
        {"content": "write hello.txt", "priority": "high", "status": "in_progress"},
        {"content": "try outside", "priority": "low", "status": "pending"}]}),
    );
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call", "toolCallId": "call-1",
        "title": "Write hello.txt", "kind": "edit", "status": "pending",
        "locations": [{"path": hello}]}),
    );
    match w.request(
        "fs/read_text_file",
        json!({"sessionId": session, "path": hello}),
    ) {
        Err(e) => w.say(session, &format!("observed: missing {} ", code(&e))),
        Ok(_) => w.say(session, "observed: missing file was read "),
    }
    let written = w.request(
        "fs/write_text_file",
        json!({"sessionId": session, "path": hello, "content": "hello from acp\n"}),
    );
    let back = w.request(
        "fs/read_text_file",
        json!({"sessionId": session, "path": hello}),
    );
    w.say(
        session,
        &format!(
            "observed: write {} read-back {} ",
            if written.is_ok() { "ok" } else { "failed" },
            back.ok()
                .and_then(|v| v["content"].as_str().map(|s| s == "hello from acp\n"))
                .unwrap_or(false)
        ),
    );
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call_update", "toolCallId": "call-1",
        "status": "completed", "content": [{"type": "diff", "path": hello, "oldText": null,
        "newText": "hello from acp\n"}]}),
    );
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call", "toolCallId": "call-2",
        "title": "Write outside.txt", "kind": "edit", "status": "in_progress",
        "locations": [{"path": outside}]}),
    );
    let refused = w.request(
        "fs/write_text_file",
        json!({"sessionId": session, "path": outside, "content": "escaped\n"}),
    );
    w.say(
        session,
        &match &refused {
            Err(e) => format!("observed: outside refused {} ", code(e)),
            Ok(_) => "observed: outside written ".to_string(),
        },
    );
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call_update", "toolCallId": "call-2",
        "status": if refused.is_err() { "failed" } else { "completed" }}),
    );
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call", "toolCallId": "call-3",
        "title": "rm -rf build/", "kind": "execute", "status": "pending",
        "rawInput": {"command": "rm -rf build/"}}),
    );
    let asked = w.request(
        "session/request_permission",
        json!({"sessionId": session,
        "toolCall": {"toolCallId": "call-3", "title": "rm -rf build/", "kind": "execute"},
        "options": [
            {"optionId": "allow", "name": "Allow", "kind": "allow_once"},
            {"optionId": "always", "name": "Allow for this session", "kind": "allow_always"},
            {"optionId": "reject", "name": "Reject", "kind": "reject_once"}]}),
    );
    let outcome = match &asked {
        Ok(v) => match v["outcome"]["outcome"].as_str() {
            Some("selected") => v["outcome"]["optionId"].as_str().unwrap_or("?").to_string(),
            Some(o) => o.to_string(),
            None => "malformed".into(),
        },
        Err(e) => format!("error {}", code(e)),
    };
    w.say(session, &format!("observed: permission {outcome} "));
    w.notify_update(session, json!({"sessionUpdate": "tool_call_update", "toolCallId": "call-3",
        "status": "failed", "content": [{"type": "content", "content": {"type": "text", "text": "not run"}}]}));
    // What the turn cost, cumulative for the session (as Claude's ACP adapter reports it).
    for amount in [0.01, 0.0123] {
        w.notify_update(
            session,
            json!({"sessionUpdate": "usage_update", "used": 1200,
            "size": 200000, "cost": {"amount": amount, "currency": "USD"}}),
        );
    }
    w.say(session, "Done.");
    "end_turn"
}

fn cancel(w: &mut Wire, session: &str) -> &'static str {
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call", "toolCallId": "slow-1",
        "title": "Think hard", "kind": "think", "status": "in_progress"}),
    );
    w.say(session, "waiting");
    while !w.cancelled {
        if w.read().is_none() {
            std::process::exit(4);
        }
    }
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call_update", "toolCallId": "slow-1",
        "status": "failed"}),
    );
    "cancelled"
}

/// Asks `n`th time to run `rm -rf build/`; the option the client chose (or how it ended).
fn ask_once(w: &mut Wire, session: &str, n: u32) -> String {
    let call = format!("rm-{n}");
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call", "toolCallId": call,
        "title": "rm -rf build/", "kind": "execute", "status": "pending"}),
    );
    let asked = w.request(
        "session/request_permission",
        json!({"sessionId": session,
        "toolCall": {"toolCallId": call, "title": "rm -rf build/", "kind": "execute"},
        "options": [
            {"optionId": "allow", "name": "Allow", "kind": "allow_once"},
            {"optionId": "always", "name": "Allow for this session", "kind": "allow_always"},
            {"optionId": "reject", "name": "Reject", "kind": "reject_once"}]}),
    );
    let outcome = match &asked {
        Ok(v) => match v["outcome"]["outcome"].as_str() {
            Some("selected") => v["outcome"]["optionId"].as_str().unwrap_or("?").to_string(),
            Some(o) => o.to_string(),
            None => "malformed".into(),
        },
        Err(e) => format!("error {}", code(e)),
    };
    let ran = outcome == "allow" || outcome == "always";
    w.notify_update(
        session,
        json!({"sessionUpdate": "tool_call_update", "toolCallId": call,
        "status": if ran { "completed" } else { "failed" }}),
    );
    outcome
}

/// The `ask` scenario (see the module's doc).
fn ask(w: &mut Wire, session: &str) -> &'static str {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let answered = Arc::new(AtomicBool::new(false));
    let attack = Arc::new(Mutex::new(String::from("not tried")));
    let attacker = std::env::var("FAKE_ACP_ATTACK").is_ok_and(|v| v == "1").then(|| {
        let (answered, attack) = (answered.clone(), attack.clone());
        std::thread::spawn(move || {
            // While its request waits, the agent answers it itself through its client's stdin.
            let path = format!("/proc/{}/fd/0", std::os::unix::process::parent_id());
            let line = "{\"permission\": \"p1\", \"answer\": \"allow_session\", \"by\": \"the agent\"}\n";
            while !answered.load(Ordering::SeqCst) {
                let tried = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(line.as_bytes()));
                let written = tried.is_ok();
                *attack.lock().unwrap() = match tried {
                    Ok(()) => "written".into(),
                    Err(e) => format!("refused ({})", e.kind()),
                };
                if written {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    });
    // With `FAKE_ACP_OVERLORD` (the overlord-tui binary) it also tries the human's way:
    // `overlord-tui cmd "/resolve C-1 allow for the session"`, until the concern exists.
    let cli = std::env::var("FAKE_ACP_OVERLORD").ok().map(|bin| {
        let answered = answered.clone();
        std::thread::spawn(move || {
            let mut said = String::from("not tried");
            while !answered.load(Ordering::SeqCst) {
                let mut cmd = std::process::Command::new(&bin);
                if let Ok(repo) = std::env::var("OVERLORD_REPO") {
                    cmd.arg("--repo").arg(repo);
                }
                let Ok(o) = cmd
                    .args(["cmd", "/resolve C-1 allow for the session"])
                    .stdin(std::process::Stdio::null())
                    .output()
                else {
                    return "could not run".to_string();
                };
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                said = format!(
                    "exit {:?}: {}",
                    o.status.code(),
                    text.lines().next().unwrap_or_default()
                );
                if !text.contains("C-1") || !text.contains("unknown") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            said
        })
    });
    let first = ask_once(w, session, 1);
    answered.store(true, Ordering::SeqCst);
    if let Some(t) = attacker {
        let _ = t.join();
        let a = attack.lock().unwrap().clone();
        w.say(session, &format!("observed: stdin attack {a} "));
    }
    if let Some(t) = cli {
        let said = t.join().unwrap_or_default();
        w.say(session, &format!("observed: cli resolve {said} "));
    }
    w.say(session, &format!("observed: permission 1 {first} "));
    if first == "cancelled" {
        while !w.cancelled {
            if w.read().is_none() {
                std::process::exit(4);
            }
        }
        return "cancelled";
    }
    let second = ask_once(w, session, 2);
    w.say(session, &format!("observed: permission 2 {second} "));
    "end_turn"
}

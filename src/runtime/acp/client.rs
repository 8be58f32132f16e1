//! `overlord-tui acp-client` (hidden): drives one turn of an ACP agent with the official SDK
//! (`agent-client-protocol`, protocol v1) and prints the turn as Overlord's native event lines
//! on stdout, which the `acp` adapter's parser reads like the scripted agent's.
//!
//! The turn: start the agent in the worktree with its stdio as the transport, `initialize`
//! advertising what this client serves (`fs/read_text_file`, `fs/write_text_file`; no
//! terminal), `session/new` with the worktree as `cwd`, `session/prompt`; its `stopReason`
//! ends the run. Files are served inside the worktree only ([`super::confine`]): a path
//! elsewhere gets a JSON-RPC error and a warning event. `session/request_permission` is
//! answered by [`decide`]. SIGTERM or SIGINT sends `session/cancel` and waits for the agent
//! to end its turn (it answers `cancelled`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    CancelNotification, ClientCapabilities, ContentBlock, FileSystemCapabilities, Implementation,
    InitializeRequest, LoadSessionRequest, NewSessionRequest, PermissionOptionKind, PromptRequest,
    PromptResponse, ReadTextFileRequest, ReadTextFileResponse, RequestPermissionOutcome,
    RequestPermissionRequest, RequestPermissionResponse, SelectedPermissionOutcome, SessionId,
    SessionNotification, TextContent, WriteTextFileRequest, WriteTextFileResponse,
};
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::{Agent, ByteStreams, Client, ErrorCode};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use super::ask::{self, Asked, Asks};
use super::confine::confine;
use crate::agent::acp_map::{wire_name, AcpEvents, ASKED, PERMISSION, REFUSED};
use crate::agent::acp_policy::{self, Decision, Rule};
use crate::agent::event::AgentEvent;
use crate::agent::parse::native_line;
use crate::protocol::permission::Answer;

/// The environment variable the supervisor gives the client `[agents]
/// permission_timeout_secs` in.
pub const TIMEOUT_ENV: &str = "OVERLORD_ACP_PERMISSION_TIMEOUT_SECS";

/// How long the agent has to end its turn after `session/cancel`.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// One turn to run.
#[derive(Debug, Clone)]
pub struct AcpTurn {
    pub worktree: PathBuf,
    pub prompt: String,
    pub program: String,
    pub args: Vec<String>,
    /// `[adapters.<name>.permissions]`.
    pub rules: Vec<Rule>,
    /// The session of an earlier run to resume with `session/load` (where the agent can).
    pub resume: Option<String>,
    /// How long a request asked of the human waits for the answer.
    pub ask_timeout: Duration,
    /// The answers come on stdin, after the key line ([`super::ask`]); else nobody is asked.
    pub answers_on_stdin: bool,
}

/// Prints events as native lines on stdout, one at a time. While a loaded session is
/// replayed (`session/load` sends its history as updates), updates are not events of this run.
#[derive(Clone)]
struct Emitter(Arc<Mutex<AcpEvents>>, Arc<AtomicBool>);

impl Emitter {
    fn emit(&self, events: Vec<AgentEvent>) {
        let mut out = std::io::stdout().lock();
        for e in &events {
            let _ = writeln!(out, "{}", native_line(e));
        }
        let _ = out.flush();
    }

    fn warn(&self, message: String) {
        self.emit(vec![AgentEvent::Warning {
            message,
            error: None,
            raw: String::new(),
        }]);
    }

    fn update(&self, n: SessionNotification) {
        if self.1.load(Ordering::SeqCst) {
            return;
        }
        let events = match self.0.lock() {
            Ok(mut m) => m.update(n.update),
            Err(_) => return,
        };
        self.emit(events);
    }
}

/// Runs the turn; `Ok(true)` when the agent ended it with `end_turn`.
pub fn run(turn: AcpTurn) -> Result<bool, String> {
    // Not dumpable: the agent (same uid, its child) cannot open this process's stdin through
    // `/proc/<pid>/fd/0` (to take the human's answers) or read the key from its memory; where
    // it can all the same (root), a line it writes there lacks the key.
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| format!("cannot protect the client's stdin from the agent: {e}"))?;
    // The key comes first, before the agent exists to read it.
    let key = if turn.answers_on_stdin {
        Some(ask::read_key(&mut std::io::stdin().lock())?)
    } else {
        None
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(run_turn(turn, key))
}

async fn run_turn(turn: AcpTurn, key: Option<String>) -> Result<bool, String> {
    let worktree = turn.worktree.clone();
    let mut child = tokio::process::Command::new(&turn.program)
        .args(&turn.args)
        .current_dir(&worktree)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the ACP agent {}: {e}", turn.program))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("the agent's stdio is not piped".into());
    };
    let transport = ByteStreams::new(stdin.compat_write(), stdout.compat());
    let out = Emitter(
        Arc::new(Mutex::new(AcpEvents::new(&worktree))),
        Arc::new(AtomicBool::new(false)),
    );
    let asks = Asks::new(turn.ask_timeout, key.clone());
    match key {
        Some(_) => read_answers(asks.clone(), out.clone()),
        None => asks.close(),
    }
    let (o1, o2, o3, o4) = (out.clone(), out.clone(), out.clone(), out.clone());
    let (a1, a2) = (asks.clone(), asks.clone());
    let (w1, w2, w3) = (worktree.clone(), worktree.clone(), worktree.clone());
    let rules = turn.rules.clone();
    let program = turn.program.clone();
    let result = Client
        .v1()
        .name("overlord-tui")
        .on_receive_notification(
            async move |n: SessionNotification, _cx| {
                o1.update(n);
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .on_receive_request(
            async move |req: ReadTextFileRequest, responder, _cx| match read(&w1, &req) {
                Ok(text) => responder.respond(ReadTextFileResponse::new(text)),
                Err((code, message)) => {
                    if code != ErrorCode::RESOURCE_NOT_FOUND {
                        o2.warn(format!("{REFUSED}read {}: {message}", req.path.display()));
                    }
                    responder.respond_with_error(agent_client_protocol::Error::new(code, message))
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: WriteTextFileRequest, responder, _cx| match write(&w2, &req) {
                Ok(()) => responder.respond(WriteTextFileResponse::new()),
                Err((code, message)) => {
                    o3.warn(format!("{REFUSED}write {}: {message}", req.path.display()));
                    responder.respond_with_error(agent_client_protocol::Error::new(code, message))
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: RequestPermissionRequest, responder, cx| {
                // Asking the human takes long: off the connection's event loop.
                let (w, rules, asks, out) = (w3.clone(), rules.clone(), a1.clone(), o4.clone());
                cx.spawn(async move {
                    let (outcome, note) = answer(&w, &rules, &asks, &out, &req).await;
                    out.warn(note);
                    responder.respond(RequestPermissionResponse::new(outcome))
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .connect_with(transport, async move |cx: ConnectionTo<Agent>| {
            drive(cx, &turn, &out, &a2).await
        })
        .await;
    // The agent's turn is over: its stdin closes with the connection; give it a moment.
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    result.map_err(|e| format!("the ACP agent {program}: {e}"))
}

async fn drive(
    cx: ConnectionTo<Agent>,
    turn: &AcpTurn,
    out: &Emitter,
    asks: &Asks,
) -> Result<bool, agent_client_protocol::Error> {
    let caps = ClientCapabilities::new().fs(FileSystemCapabilities::new()
        .read_text_file(true)
        .write_text_file(true));
    let init = cx
        .send_request(
            InitializeRequest::new(ProtocolVersion::V1)
                .client_capabilities(caps)
                .client_info(Implementation::new(
                    "overlord-tui",
                    env!("CARGO_PKG_VERSION"),
                )),
        )
        .block_task()
        .await?;
    let model = init.agent_info.as_ref().map(|i| i.name.clone());
    let session_id = session(&cx, turn, out, init.agent_capabilities.load_session).await?;
    out.emit(vec![AgentEvent::Started {
        session_id: Some(session_id.0.to_string()),
        model,
        raw: String::new(),
    }]);
    let prompt = cx
        .send_request(PromptRequest::new(
            session_id.clone(),
            vec![ContentBlock::Text(TextContent::new(turn.prompt.clone()))],
        ))
        .block_task();
    tokio::pin!(prompt);
    let answer = tokio::select! {
        r = &mut prompt => r?,
        () = stop_signal() => {
            asks.cancel_all();
            cx.send_notification(CancelNotification::new(session_id.clone()))?;
            match tokio::time::timeout(CANCEL_GRACE, &mut prompt).await {
                Ok(r) => r?,
                Err(_) => {
                    out.warn("the agent did not end its turn within 10 s of session/cancel".into());
                    PromptResponse::new(agent_client_protocol::v1::schema::StopReason::Cancelled)
                }
            }
        }
    };
    let ok = wire_name(&answer.stop_reason) == "end_turn";
    let events = match out.0.lock() {
        Ok(mut m) => {
            let mut events = m.prompt_answered(answer.meta.as_ref());
            events.extend(m.stop(answer.stop_reason));
            events
        }
        Err(_) => Vec::new(),
    };
    out.emit(events);
    Ok(ok)
}

/// The session of the turn: the earlier run's, loaded (`session/load`) where the agent
/// advertises `loadSession`, else a new one in the worktree.
async fn session(
    cx: &ConnectionTo<Agent>,
    turn: &AcpTurn,
    out: &Emitter,
    can_load: bool,
) -> Result<SessionId, agent_client_protocol::Error> {
    if let Some(id) = turn.resume.as_ref().filter(|_| can_load) {
        out.1.store(true, Ordering::SeqCst);
        let loaded = cx
            .send_request(LoadSessionRequest::new(id.clone(), turn.worktree.clone()))
            .block_task()
            .await;
        out.1.store(false, Ordering::SeqCst);
        match loaded {
            Ok(_) => {
                out.warn(format!("resumed session {id} (session/load)"));
                return Ok(SessionId::from(id.clone()));
            }
            Err(e) => out.warn(format!(
                "the agent could not load session {id} ({e}): a new session"
            )),
        }
    } else if let Some(id) = &turn.resume {
        out.warn(format!(
            "the agent cannot load sessions (no loadSession): a new session instead of {id}"
        ));
    }
    let session = cx
        .send_request(NewSessionRequest::new(turn.worktree.clone()))
        .block_task()
        .await?;
    Ok(session.session_id)
}

/// Reads the answers on stdin (a thread of its own: a blocked read must not hold the runtime
/// at exit); each ignored line is reported, and the end of stdin ends every waiting request.
fn read_answers(asks: Asks, out: Emitter) {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Err(e) = asks.on_line(&line) {
                out.warn(format!("{PERMISSION}{e}"));
            }
        }
        asks.close();
    });
}

/// Resolves on SIGTERM or SIGINT (never when they cannot be watched).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

type Refusal = (ErrorCode, String);

fn read(worktree: &Path, req: &ReadTextFileRequest) -> Result<String, Refusal> {
    let path = confine(worktree, &req.path).map_err(|e| (ErrorCode::INVALID_PARAMS, e))?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err((
                ErrorCode::RESOURCE_NOT_FOUND,
                format!("{} does not exist", req.path.display()),
            ))
        }
        Err(e) => return Err((ErrorCode::INTERNAL_ERROR, e.to_string())),
    };
    // `line` is 1-based; `limit` counts lines.
    if req.line.is_none() && req.limit.is_none() {
        return Ok(text);
    }
    let skip = req.line.map_or(0, |l| l.saturating_sub(1) as usize);
    let take = req.limit.map_or(usize::MAX, |l| l as usize);
    Ok(text.split_inclusive('\n').skip(skip).take(take).collect())
}

fn write(worktree: &Path, req: &WriteTextFileRequest) -> Result<(), Refusal> {
    let path = confine(worktree, &req.path).map_err(|e| (ErrorCode::INVALID_PARAMS, e))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| (ErrorCode::INTERNAL_ERROR, e.to_string()))?;
    }
    std::fs::write(&path, &req.content).map_err(|e| (ErrorCode::INTERNAL_ERROR, e.to_string()))
}

/// What a permission request asks, as the rules read it.
struct Request {
    kind: String,
    title: String,
    /// Repo-relative, those inside the worktree.
    files: Vec<String>,
    /// Some location is outside the worktree.
    outside: bool,
}

fn assess(worktree: &Path, req: &RequestPermissionRequest) -> Request {
    let f = &req.tool_call.fields;
    let kind = f
        .kind
        .as_ref()
        .map(wire_name)
        .unwrap_or_else(|| "other".into());
    let title = f
        .title
        .clone()
        .unwrap_or_else(|| req.tool_call.tool_call_id.0.to_string());
    let root = worktree
        .canonicalize()
        .unwrap_or_else(|_| worktree.to_path_buf());
    let mut files = Vec::new();
    let mut outside = false;
    for l in f.locations.iter().flatten() {
        match confine(worktree, &l.path) {
            Ok(real) => files.push(
                real.strip_prefix(&root)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            Err(_) => outside = true,
        }
    }
    Request {
        kind,
        title,
        files,
        outside,
    }
}

/// The option of the kinds wanted (the first offered), as the outcome; none offered: the
/// request is cancelled (nothing allowed) and the note says so.
fn select(
    req: &RequestPermissionRequest,
    wanted: &[PermissionOptionKind],
    note: String,
) -> (RequestPermissionOutcome, String) {
    let option = wanted.iter().find_map(|k| {
        req.options
            .iter()
            .find(|o| o.kind == *k)
            .map(|o| o.option_id.clone())
    });
    match option {
        Some(id) => (
            RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(id)),
            note,
        ),
        None => (
            RequestPermissionOutcome::Cancelled,
            format!("{note}; no such option offered, cancelled"),
        ),
    }
}

const ALLOW: &[PermissionOptionKind] = &[PermissionOptionKind::AllowOnce];
const REJECT: &[PermissionOptionKind] = &[
    PermissionOptionKind::RejectOnce,
    PermissionOptionKind::RejectAlways,
];

/// The answer to a permission request and its note for the audit: by the rules
/// ([`acp_policy::decide`]: a path outside the worktree is always rejected); `ask` goes to the
/// human ([`super::ask`]) unless an identical request was allowed for the session.
async fn answer(
    worktree: &Path,
    rules: &[Rule],
    asks: &Asks,
    out: &Emitter,
    req: &RequestPermissionRequest,
) -> (RequestPermissionOutcome, String) {
    let r = assess(worktree, req);
    let (decision, why) = acp_policy::decide(rules, &r.kind, &r.files, r.outside);
    let (kind, title) = (&r.kind, &r.title);
    let what = match r.files.is_empty() {
        true => format!("{kind} `{title}`"),
        false => format!("{kind} `{title}` (files: {})", r.files.join(", ")),
    };
    match decision {
        Decision::Allow => {
            return select(req, ALLOW, format!("{PERMISSION}allowed: {what} ({why})"))
        }
        Decision::Deny => {
            return select(req, REJECT, format!("{PERMISSION}rejected: {what} ({why})"))
        }
        Decision::Ask => {}
    }
    let key = ask::key(kind, title, &r.files);
    if let Some(by) = asks.allowed_for_session(&key) {
        return select(
            req,
            ALLOW,
            format!("{PERMISSION}allowed: {what} ({why} says ask: allowed for the session by {by} earlier)"),
        );
    }
    let Some((id, rx)) = asks.open() else {
        return select(
            req,
            REJECT,
            format!("{PERMISSION}rejected: {what} ({why} says ask: nobody can answer)"),
        );
    };
    out.warn(format!("{PERMISSION}{ASKED}[{id}]: {what}"));
    let (wanted, verdict, how): (&[PermissionOptionKind], &str, String) =
        match asks.wait(&id, rx, &key).await {
            Asked::Answered { answer, by } => match answer {
                Answer::AllowOnce => (ALLOW, "allowed", format!("allowed once by {by}")),
                Answer::AllowSession => (
                    &[
                        PermissionOptionKind::AllowAlways,
                        PermissionOptionKind::AllowOnce,
                    ],
                    "allowed",
                    format!("allowed for the session by {by}"),
                ),
                Answer::Reject => (REJECT, "rejected", format!("rejected by {by}")),
            },
            Asked::TimedOut(t) => (
                REJECT,
                "rejected",
                format!("no answer within {} s", t.as_secs()),
            ),
            Asked::Gone => (
                REJECT,
                "rejected",
                "nobody can answer any more, the client's stdin closed".into(),
            ),
            Asked::Cancelled => {
                return (
                    RequestPermissionOutcome::Cancelled,
                    format!("{PERMISSION}rejected [{id}]: {what} (the turn was cancelled)"),
                )
            }
        };
    select(
        req,
        wanted,
        format!("{PERMISSION}{verdict} [{id}]: {what} ({how})"),
    )
}

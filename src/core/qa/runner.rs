//! Running one attempt of a gate's command in the worktree: its own directory, the timeout
//! and cancellation, live progress of a test run, and the report kept with the run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::context::QaContext;
use super::detect::{Format, Planned};
use super::record::{dir_name, Attempt};
use super::results::{read_attempt, ParsedAttempt};
use crate::core::shell;
use crate::protocol::event::EventKind;
use crate::protocol::model::QaRunId;
use crate::qa::evaluate::{self, Evidence, Measure};
use crate::qa::parse;

/// Live progress of a test run read from its output lines (libtest's `running N tests`
/// and `test … ok` lines; TAP's `ok`/`not ok` lines).
struct TestProgress {
    done: u64,
    total: Option<u64>,
    last: std::time::Instant,
}

impl TestProgress {
    pub(super) fn line(&mut self, format: Format, line: &str) -> bool {
        match format {
            Format::Libtest => match parse::libtest_progress(line) {
                Some(parse::LibtestLine::Announced(n)) => {
                    self.total = Some(self.total.unwrap_or(0) + n);
                    true
                }
                Some(parse::LibtestLine::Finished { .. }) => {
                    self.done += 1;
                    true
                }
                None => false,
            },
            Format::Tap => {
                let t = line.trim_start();
                if line.starts_with("ok ") || line.starts_with("not ok ") {
                    self.done += 1;
                    true
                } else if let Some(n) = t
                    .strip_prefix("1..")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                {
                    if !line.starts_with(' ') {
                        self.total = Some(n);
                    }
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }
}

pub(super) struct Runner<'a> {
    pub(super) ctx: &'a QaContext,
    pub(super) worktree: &'a Path,
    pub(super) run_dir: PathBuf,
    pub(super) id: QaRunId,
    pub(super) attempts: Vec<Attempt>,
    pub(super) sink: &'a mut dyn FnMut(EventKind),
    /// More environment for every gate (a Node project's: `PATH`, the QA hook); `{out}` in
    /// a value is the attempt's directory.
    pub(super) extra_env: Vec<(String, String)>,
}

impl Runner<'_> {
    pub(super) fn timeout(&self) -> Duration {
        Duration::from_secs(
            self.ctx
                .policy
                .gates
                .timeout_secs
                .unwrap_or(self.ctx.config.timeout_secs)
                .max(1),
        )
    }

    pub(super) fn cancelled(&self) -> bool {
        self.ctx
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Runs one attempt of a planned gate and reads its results.
    pub(super) fn attempt(&mut self, p: &Planned, attempt: u32) -> ParsedAttempt {
        if let Some(why) = &p.unavailable {
            return ParsedAttempt::missing(why.clone());
        }
        let (Some(command), Some(format)) = (&p.command, p.format) else {
            return ParsedAttempt::missing(format!("no {} command", p.gate));
        };
        if self.cancelled() {
            return ParsedAttempt::missing("the QA run was cancelled".into());
        }
        let rel = dir_name(&p.gate, attempt);
        let dir = self.run_dir.join(&rel);
        let _ = std::fs::create_dir_all(&dir);
        let out = dir.to_string_lossy().to_string();
        let command = command.replace("{out}", &out);
        let report = p.report.as_ref().map(|r| r.replace("{out}", &out));
        // The report as the run directory knows it: inside it, or copied in afterwards.
        let report_abs = report.as_ref().map(|r| {
            let p = Path::new(r);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                self.worktree.join(p)
            }
        });
        if let Some(r) = &report_abs {
            let _ = std::fs::remove_file(r);
        }
        (self.sink)(EventKind::QaGateStarted {
            run: self.id,
            gate: p.gate.clone(),
            command: Some(command.clone()),
            attempt,
        });
        let id_s = self.id.to_string();
        if !self.extra_env.is_empty() {
            let _ = std::fs::create_dir_all(dir.join("node"));
        }
        let extra: Vec<(String, String)> = self
            .extra_env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{out}", &out)))
            .collect();
        let mut env = vec![
            ("OVERLORD_GATE", p.gate.as_str()),
            ("OVERLORD_QA_RUN", id_s.as_str()),
            ("OVERLORD_QA_OUT", out.as_str()),
            // The output goes to log files and line parsers, not a terminal: no colour codes,
            // even where `CI` is set (picocolors and tinyrainbow colour for CI).
            ("NO_COLOR", "1"),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut progress = TestProgress {
            done: 0,
            total: None,
            last: std::time::Instant::now(),
        };
        let gate = p.gate.clone();
        let run_id = self.id;
        let timeout = self.timeout();
        let cancel = self.ctx.cancel.clone();
        let sink = &mut *self.sink;
        let mut on_line = |line: &str| {
            if progress.line(format, line) && progress.last.elapsed() >= Duration::from_millis(100)
            {
                progress.last = std::time::Instant::now();
                sink(EventKind::QaGateProgress {
                    run: run_id,
                    gate: gate.clone(),
                    done: progress.done,
                    total: progress.total,
                });
            }
        };
        let ran = shell::run_with(
            &command,
            self.worktree,
            shell::Options {
                env: &env,
                timeout: Some(timeout),
                log: Some(&dir.join("output.log")),
                stdout: Some(&dir.join("stdout.log")),
                cancel: cancel.as_deref(),
                // libtest's names depend on cargo's headers (stderr) coming before the tests'
                // lines (stdout); the exit format reads the whole output.
                one_pipe: matches!(format, Format::Libtest | Format::Exit),
                on_line: matches!(format, Format::Libtest | Format::Tap)
                    .then_some(&mut on_line as &mut dyn FnMut(&str)),
            },
        );
        let ran = match ran {
            Ok(r) => r,
            Err(e) => return ParsedAttempt::missing(format!("`{command}` cannot be started: {e}")),
        };
        if progress.done > 0 {
            (self.sink)(EventKind::QaGateProgress {
                run: self.id,
                gate: p.gate.clone(),
                done: progress.done,
                total: progress.total,
            });
        }
        // Keep the report with the run (the worktree is reused by the next run).
        let kept = report_abs.and_then(|r| {
            if r.starts_with(&dir) {
                r.strip_prefix(&self.run_dir)
                    .ok()
                    .map(|x| x.to_string_lossy().to_string())
            } else {
                let name = r.file_name()?.to_string_lossy().to_string();
                let _ = std::fs::copy(&r, dir.join(&name));
                Some(format!("{rel}/{name}"))
            }
        });
        #[cfg(unix)]
        let signal = {
            use std::os::unix::process::ExitStatusExt;
            ran.status.and_then(|s| s.signal())
        };
        #[cfg(not(unix))]
        let signal = None;
        let a = Attempt {
            gate: p.gate.clone(),
            attempt,
            command: command.clone(),
            format,
            dir: rel,
            report: kept,
            exit: ran.status.and_then(|s| s.code()),
            signal,
            stopped: ran.stopped.map(|s| match s {
                shell::Stopped::TimedOut => "timed out".to_string(),
                shell::Stopped::Cancelled => "cancelled".to_string(),
            }),
            duration_secs: ran.elapsed.as_secs_f64(),
        };
        let parsed = read_attempt(&self.run_dir, self.worktree, &a);
        self.attempts.push(a);
        parsed
    }

    pub(super) fn finished(&mut self, evidence: &Evidence, gate: &str) {
        let ev = evaluate::evaluate(&self.ctx.policy, evidence);
        if let Some(r) = ev.gates.into_iter().find(|g| g.gate == gate) {
            (self.sink)(EventKind::QaGateFinished {
                run: self.id,
                result: r,
            });
        }
    }
}

pub(super) fn skipped<T>(why: &str) -> Measure<T> {
    Measure::NotMeasured(why.to_string())
}

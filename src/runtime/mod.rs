//! The agent runtime: the part of the core that starts and watches processes. `process` runs
//! one turn of an agent CLI (process group, cancellation, pause, log); `adapters` finds the
//! configured adapters and probes their CLIs; `script` is the scripted agent
//! (`overlord-tui script-agent`); `supervisor` schedules the plan's tasks on agents;
//! `prompts` and `documents` are the role prompts and the PM's documents.

pub mod adapters;
pub mod documents;
pub mod process;
pub mod prompts;
pub mod script;
pub mod supervisor;

//! The agent runtime: the part of the core that starts and watches processes. `process` runs
//! one turn of an agent CLI (process group, cancellation, pause, log); `adapters` finds the
//! configured adapters and probes their CLIs; `script` is the scripted agent
//! (`overlord-tui script-agent`); `supervisor` schedules the plan's tasks on agents;
//! `prompts` are the role prompts; `procs` reads `/proc`; `tree` is an agent's process tree
//! (its group and every descendant seen), how it is signalled and stopped; `sandbox` confines
//! every agent CLI with Landlock; `endpoint` prepares what a run needs for its adapter's
//! `base_url` and `api_key_env`.

pub mod acp;
pub mod adapters;
pub mod endpoint;
pub mod planner;
pub mod process;
pub mod procs;
pub mod prompts;
pub mod sandbox;
pub mod script;
pub mod supervisor;
pub mod tree;

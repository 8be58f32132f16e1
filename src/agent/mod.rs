//! The agent adapters' pure part: the one event type every adapter emits ([`AgentEvent`]),
//! the parsers of each real CLI's structured output ([`parse`]), usage deltas and pricing
//! ([`usage`]) and the classification of the CLIs' error messages ([`mod@classify`]).
//!
//! Nothing here spawns, signals or reads a process: an adapter feeds the lines of a CLI's
//! stdout to a parser ([`parse::AgentParser::line`]) and tells it how the process ended
//! ([`parse::AgentParser::finish`]). The facts about each CLI come from running the real
//! CLIs; their captured output is under `tests/fixtures/agent-cli/`.

pub mod acp_map;
pub mod acp_policy;
pub mod acp_preset;
pub mod adapter;
pub mod classify;
pub mod endpoint;
pub mod event;
pub mod kind;
pub mod parse;
pub mod stderr;
pub mod usage;

pub use classify::classify;
pub use event::{AgentError, AgentEvent, ErrorKind, ToolKind};
pub use usage::{cost, PriceTable, Usage, UsageTracker};

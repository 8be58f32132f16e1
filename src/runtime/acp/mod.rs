//! The `acp` adapter's client: Overlord drives any agent that speaks the Agent Client Protocol
//! (JSON-RPC 2.0 over stdio) through the hidden `overlord-tui acp-client` subcommand, which the
//! supervisor starts like any agent CLI (inside the same sandbox). [`client`] speaks the
//! protocol with the official SDK and prints the turn as native event lines (mapped by
//! [`crate::agent::acp_map`]); [`confine`] keeps the files it serves inside the worktree.

pub mod ask;
pub mod client;
pub mod confine;

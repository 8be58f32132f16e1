//! Overlord: a governed swarm of AI coding agents on one git repository.
//!
//! `protocol` is pure data; `core` owns the truth (state, audit store, one writer);
//! front ends (the headless CLI today) talk to the core through its `Handle` or its socket.
//! `agent` turns the agent CLIs' output into one event type (pure, no processes).
#![forbid(unsafe_code)]

pub mod agent;
pub mod config;
pub mod core;
pub mod deps;
pub mod git;
pub mod metrics;
pub mod protocol;
pub mod qa;
pub mod runtime;
pub mod store;
pub mod workspace;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "discord")]
pub mod discord;
#[cfg(feature = "tui")]
pub mod tui;

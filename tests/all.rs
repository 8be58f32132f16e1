//! One test binary (link time on 2 cores matters); each module is one area.

mod common;

mod acceptance_criteria;
mod acp;
mod acp_presets;
mod adapter_endpoints;
mod agent_classify;
mod agent_parse;
mod agent_procs;
mod agent_runtime;
mod agent_telemetry;
mod anchor;
mod autonomy_e2e;
mod cli;
mod concurrency;
// The demo's Discord lines come from the bridge.
#[cfg(feature = "discord")]
mod demo;
mod deps;
mod diff;
#[cfg(feature = "discord")]
mod discord_bridge;
mod discord_core;
#[cfg(feature = "discord")]
mod discord_failures;
#[cfg(feature = "discord")]
mod discord_fake;
#[cfg(feature = "discord")]
mod discord_message;
#[cfg(feature = "discord")]
mod discord_outbox;
#[cfg(feature = "discord")]
mod discord_permission;
#[cfg(feature = "discord")]
mod discord_rest;
#[cfg(feature = "discord")]
mod discord_setup;
#[cfg(feature = "discord")]
mod discord_strangers;
mod discovery;
mod docs;
mod governance;
mod grammar;
mod history;
mod identity;
mod layering;
mod layout;
mod lean_open;
mod lifecycle;
mod metrics;
mod metrics_running;
mod plan;
mod planner;
mod promotion;
mod qa;
mod qa_node;
mod qa_parse;
mod qa_policy;
mod real_agents;
mod sandbox;
mod save;
mod script_agent;
mod store;
mod supervisor;
mod swarm_e2e;
mod tickets;
mod tui_app;
mod tui_command;
mod tui_config;
mod tui_diff;
mod tui_diff_keys;
mod tui_e2e;
mod tui_fuzz;
mod tui_metrics;
mod tui_panes;
mod tui_theme;
mod worktree;

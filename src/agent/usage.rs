//! Token usage in one shape for every CLI, the turning of cumulative counters into deltas, and
//! the pricing of tokens for the CLIs that report no dollars.
//!
//! The counters mean the same for every CLI:
//!
//! - `input` counts **all** prompt tokens, cached ones included (Codex's and Gemini's
//!   `input_tokens` already do; for Claude it is `input_tokens + cache_read_input_tokens +
//!   cache_creation_input_tokens`, which Anthropic reports apart);
//! - `cached_input` is the part of `input` read from the provider's prompt cache;
//! - `output` counts **all** generated tokens, reasoning included;
//! - `reasoning` is the part of `output` spent reasoning (Codex `reasoning_output_tokens`,
//!   Claude `thinkingTokens`, Gemini `thoughts`).

use serde::{Deserialize, Serialize};

/// Tokens and, when the CLI reports it, dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// All prompt tokens, cached ones included.
    pub input: u64,
    /// The part of `input` served from the prompt cache.
    pub cached_input: u64,
    /// All generated tokens, reasoning included.
    pub output: u64,
    /// The part of `output` spent reasoning.
    pub reasoning: u64,
    /// USD, when the CLI reports it (only Claude Code and aider do).
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// The CLI's own cost when it gave one, else the tokens priced with `prices`.
    pub fn cost_or(&self, prices: &PriceTable) -> f64 {
        self.cost_usd.unwrap_or_else(|| cost(self, prices))
    }

    /// This usage with `cost_usd` filled from `prices` when the CLI gave none.
    pub fn priced(mut self, prices: &PriceTable) -> Usage {
        if self.cost_usd.is_none() {
            self.cost_usd = Some(cost(&self, prices));
        }
        self
    }

    /// Field by field sum (costs add up when both are known; a known cost plus an unknown one
    /// stays the known one).
    pub fn add(&self, other: &Usage) -> Usage {
        Usage {
            input: self.input.saturating_add(other.input),
            cached_input: self.cached_input.saturating_add(other.cached_input),
            output: self.output.saturating_add(other.output),
            reasoning: self.reasoning.saturating_add(other.reasoning),
            cost_usd: match (self.cost_usd, other.cost_usd) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
        }
    }
}

/// Prices of one model in USD per million tokens, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Uncached prompt tokens.
    pub input_per_mtok: f64,
    /// Generated tokens (reasoning included).
    pub output_per_mtok: f64,
    /// Prompt tokens read from the cache.
    pub cached_input_per_mtok: f64,
}

/// What `usage` costs at `prices`, in USD: uncached input, cached input and output each at
/// their price (reasoning is part of output and is not counted twice). Use it only when the
/// CLI gave no cost itself ([`Usage::cost_usd`] is `None`).
pub fn cost(usage: &Usage, prices: &PriceTable) -> f64 {
    let cached = usage.cached_input.min(usage.input);
    let uncached = usage.input - cached;
    (uncached as f64 * prices.input_per_mtok
        + cached as f64 * prices.cached_input_per_mtok
        + usage.output as f64 * prices.output_per_mtok)
        / 1_000_000.0
}

/// Turns a CLI's cumulative counters into deltas.
///
/// Codex (`turn.completed.usage`) and Claude Code (`total_cost_usd`, `modelUsage`) report
/// totals over the whole session, and a resumed session keeps counting from where it was. The
/// adapter keeps one tracker per session (it is serde, so it can be stored with the session)
/// and hands it to the parser of each run: [`observe`](UsageTracker::observe) returns what was
/// spent since the previous observation.
///
/// Each counter is followed on its own. A counter that went down did not un-spend anything: the
/// CLI started counting again from zero (a new session, a restarted process), so its new value
/// is the new baseline and counts in full as the delta. A delta is therefore never negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageTracker {
    last: Usage,
}

impl UsageTracker {
    /// A tracker for a new session (nothing spent yet).
    pub fn new() -> UsageTracker {
        UsageTracker::default()
    }

    /// A tracker that continues from cumulative totals already seen.
    pub fn from_baseline(cumulative: Usage) -> UsageTracker {
        UsageTracker { last: cumulative }
    }

    /// The cumulative totals last observed.
    pub fn baseline(&self) -> Usage {
        self.last
    }

    /// Records the session's new cumulative totals and returns the delta since the last
    /// observation. A cumulative `cost_usd` of `None` (the CLI gave no cost) gives a delta
    /// cost of `None` and keeps the last known cost as the baseline.
    pub fn observe(&mut self, cumulative: &Usage) -> Usage {
        fn step(now: u64, last: u64) -> u64 {
            if now >= last {
                now - last
            } else {
                now
            }
        }
        let delta = Usage {
            input: step(cumulative.input, self.last.input),
            cached_input: step(cumulative.cached_input, self.last.cached_input),
            output: step(cumulative.output, self.last.output),
            reasoning: step(cumulative.reasoning, self.last.reasoning),
            cost_usd: cumulative.cost_usd.map(|now| {
                let now = if now.is_finite() { now.max(0.0) } else { 0.0 };
                match self.last.cost_usd {
                    Some(last) if now >= last => now - last,
                    _ => now,
                }
            }),
        };
        self.last = Usage {
            cost_usd: cumulative
                .cost_usd
                .map(|c| if c.is_finite() { c.max(0.0) } else { 0.0 })
                .or(self.last.cost_usd),
            ..*cumulative
        };
        delta
    }
}

//! The model types every front end renders: plan, agents, concerns, handoffs, variations,
//! approvals, clarifications, checkpoints and QA runs. Pure data (serde only); the fields
//! follow the seeds (seed 001 concern and handoff schemas, seed 003 TodoList).
//!
//! One file per domain; everything is re-exported here, so `protocol::model::X` names any of
//! them.

mod agents;
mod alerts;
mod approvals;
mod checkpoints;
mod clarifications;
mod concerns;
mod handoffs;
mod ids;
mod operations;
mod plan;
mod qa;
mod reviews;
mod roles;
mod telemetry;
mod tickets;
mod variations;

pub use agents::{Agent, AgentProcess, AgentState};
pub use alerts::{Alert, AlertLevel};
pub use approvals::{Approval, ApprovalKind, Decision};
pub use checkpoints::{on_main, Checkpoint, CheckpointKind, OnMain};
pub use clarifications::Clarification;
pub use concerns::{Concern, ConcernStatus, Severity};
pub use handoffs::Handoff;
pub use ids::{
    ApprovalId, ClarificationId, ConcernId, Counters, HandoffId, Meta, QaRunId, Timestamp,
    VariationId,
};
pub use operations::{
    GitSession, Operation, OperationKind, OperationOutcome, PromotionTarget, PublishPlan,
    RollbackTarget, SessionStatus, TaskBranch,
};
pub use plan::{AcceptanceCheck, Expect, Phase, Plan, Task, TaskStatus};
pub use qa::{GateOutcome, GateResult, QaDecision, QaMetrics, QaRun};
pub use reviews::{Finding, Review, ReviewFile, Verdict, SEVERITIES};
pub use roles::Role;
pub use telemetry::{CostSource, FailedTool, RunTelemetry, TaskTelemetry, TokenSplit};
pub use tickets::{
    fold_approved as fold_approved_tickets, fold_janitor, JanitorRun, Ticket, TicketContext,
    TicketKind, TicketPriority, TicketStatus, TICKETS_PHASE,
};
pub use variations::{Impact, Variation};

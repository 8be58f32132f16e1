//! The project documents (`.overlord/docs`) and the PM's initiation: once the human approves
//! the plan, the documents and the hand-off to the designer.

use super::books::Supervisor;
use super::core_link::system;
use crate::protocol::documents;
use crate::protocol::model::{ApprovalKind, Decision, Role};

impl Supervisor {
    pub(super) fn write_documents(&mut self) {
        self.docs_dirty = false;
        let dir = self.ws.dir.join("docs");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(error = %e, "cannot create .overlord/docs");
            return;
        }
        for (name, text) in documents::render_all(&self.state) {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            if std::fs::write(&tmp, text)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .is_err()
            {
                tracing::warn!(path = %path.display(), "cannot write the document");
            }
        }
    }

    pub(super) fn plan_approved(&self) -> bool {
        let Some(plan) = &self.state.plan else {
            return false;
        };
        self.state.approvals.values().any(|a| {
            a.kind == ApprovalKind::Plan
                && a.subject == plan.id
                && matches!(
                    a.decision,
                    Some(Decision::Approved | Decision::ApprovedWithConditions)
                )
        })
    }

    /// The PM's initiation: once the plan is approved, the documents and the hand-off to the
    /// designer.
    pub(super) async fn initiate(&mut self) {
        if !self.plan_approved() {
            return;
        }
        let Some(plan) = self.state.plan.clone() else {
            return;
        };
        let purpose = format!("project initiation: {}", plan.id);
        if self.state.handoffs.iter().any(|h| h.purpose == purpose) {
            return;
        }
        self.write_documents();
        self.handoff(
            system(),
            Role::ProjectManager,
            Role::Designer,
            &purpose,
            format!(
                "plan '{}' approved: {}, {}; project overview and detail generated",
                plan.title,
                crate::protocol::report::plural(plan.phases.len(), "phase"),
                crate::protocol::report::plural(plan.tasks().count(), "task")
            ),
            documents::NAMES
                .iter()
                .map(|n| format!("docs/{n}"))
                .collect(),
            "completed",
            None,
        )
        .await;
    }
}

//! `/plan <goal>` in the swarm: the supervisor runs the planner (`runtime::planner`) on its
//! own task, so dispatch goes on, then imports the validated plan as Overlord (it awaits the
//! human's approval) or tells the human, as a concern, why there is none.

use super::books::Supervisor;
use crate::protocol::model::{Role, Severity};
use crate::protocol::{Command, ConcernDraft, Origin};

impl Supervisor {
    pub(super) fn run_planner(&self, goal: &str) {
        let (handle, ws, config, exe) = (
            self.handle.clone(),
            self.ws.clone(),
            self.config.clone(),
            self.self_exe.clone(),
        );
        let goal = goal.to_string();
        tokio::spawn(async move {
            let command = match crate::runtime::planner::plan_new(&ws, &config, &goal, &exe).await {
                Ok(planned) => Command::ImportPlan {
                    path: planned.path.display().to_string(),
                },
                Err(why) => Command::RaiseConcern(ConcernDraft {
                    from: Some(Role::ProjectManager),
                    to: Some(Role::Human),
                    severity: Severity::Warning,
                    category: "planner".to_string(),
                    summary: format!("no plan for \"{goal}\""),
                    details: Some(why),
                    task: None,
                }),
            };
            let reply = handle.submit(Origin::System, command).await;
            if !reply.ok {
                tracing::warn!(message = %reply.message, "the planner's plan was refused");
            }
        });
    }
}

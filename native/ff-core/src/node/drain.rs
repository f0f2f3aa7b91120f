//! Graceful shutdown: once draining, the node hands out no more work, so the tasks already
//! running can finish while the runtime waits for them (up to its grace period).

use super::*;

impl Node {
    /// From now on no queued task or actor call is dispatched and no worker is started.
    /// Submissions are still recorded (a running task may submit more); they never run.
    pub fn begin_drain(&mut self) {
        self.draining = true;
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Tasks and actor calls handed to a worker that have not finished.
    pub fn running_task_count(&self) -> usize {
        self.tasks
            .values()
            .filter(|task| matches!(task.state, TaskState::Running(_)))
            .count()
    }
}

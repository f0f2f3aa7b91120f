//! `ray.cancel`: a pending task never runs; a running one is interrupted (or, with `force`,
//! its worker is killed); with `recursive` the unfinished tasks it submitted go the same way.
//! A cancelled task is never retried. A task that has finished is left as it is.

use super::*;

impl Node {
    /// Cancels the task that makes `object`. `force` is refused for actor calls, as in Ray
    /// (whether the call is still running or not: its id says it is one).
    pub fn cancel(
        &mut self,
        object: ObjectId,
        force: bool,
        recursive: bool,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        let task = object.task_id();
        if force && task.called_actor().is_some() {
            return Err(CoreError::ForceCancelActorTask);
        }
        self.cancel_task(task, force, recursive, out);
        self.schedule(out);
        Ok(())
    }

    fn cancel_task(
        &mut self,
        task_id: TaskId,
        force: bool,
        recursive: bool,
        out: &mut Vec<Action>,
    ) {
        let Some(task) = self.tasks.get_mut(&task_id) else {
            return; // finished (or never known): nothing happens
        };
        if matches!(task.spec.kind, TaskKind::ActorCreation(_)) {
            return; // actors end through ray.kill
        }
        let actor = task.spec.actor_call().map(|call| call.actor);
        let children: Vec<TaskId> = match recursive {
            true => self
                .children
                .get(&task_id)
                .map(|set| set.iter().copied().collect())
                .unwrap_or_default(),
            false => Vec::new(),
        };
        match task.state {
            TaskState::Running(worker) => {
                let first = !task.cancelled;
                task.cancelled = true;
                // As in Ray, force is ignored for the actor calls a recursive cancel reaches.
                if force && actor.is_none() {
                    out.push(Action::KillWorker { worker });
                } else if first {
                    out.push(Action::CancelRunning {
                        worker,
                        task: task_id,
                    });
                }
            }
            TaskState::WaitingForArgs(_) | TaskState::Queued | TaskState::ActorQueued => {
                let task = self.tasks.remove(&task_id).expect("found above");
                if let Some(actor) = actor {
                    self.drop_queued_call(actor, task_id);
                }
                let mut work = StoreWork::new();
                self.fail_task_entry(task, cancelled_error(), &mut work, out);
                self.store_all(work, out);
                if let Some(actor) = actor {
                    self.pump_actor(actor, out);
                }
            }
        }
        for child in children {
            self.cancel_task(child, force, true, out);
        }
    }

    /// Notes `spec` as a child of the task that submitted it, if that one is unfinished.
    pub(super) fn note_child(&mut self, spec: &TaskSpec) {
        let Some(parent) = spec.parent else {
            return;
        };
        if matches!(spec.kind, TaskKind::ActorCreation(_)) || !self.tasks.contains_key(&parent) {
            return;
        }
        self.children
            .entry(parent)
            .or_default()
            .insert(spec.task_id);
    }

    /// A task is finished: it is no longer anyone's unfinished child, nor a parent.
    pub(super) fn forget_family(&mut self, spec: &TaskSpec) {
        if self.children.is_empty() {
            return;
        }
        self.children.remove(&spec.task_id);
        if let Some(parent) = spec.parent {
            if let Some(siblings) = self.children.get_mut(&parent) {
                siblings.remove(&spec.task_id);
                if siblings.is_empty() {
                    self.children.remove(&parent);
                }
            }
        }
    }
}

/// What the returns of a task cancelled before it ran (or killed by a forced cancel) hold.
pub(super) fn cancelled_error() -> StoredObject {
    Arc::new(Payload::system_error(ErrorKind::TaskCancelled, ""))
}

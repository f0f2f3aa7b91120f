//! The calls a worker was handed and has not finished, and which of them `ray.cancel` has
//! reached. The I/O thread records both; Python asks whether a call is cancelled (for
//! `is_canceled()`, and to fail a queued actor call before it runs) and is told at once
//! through a hook, to interrupt a running task or cancel a coroutine.

use ff_core::ids::TaskId;
use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashSet;

/// Called on the I/O thread with the id of a call that was just cancelled.
pub type CancelHook = Box<dyn Fn(TaskId) + Send + Sync>;

#[derive(Default)]
pub struct WorkerCalls {
    state: Mutex<CallSets>,
    hook: RwLock<Option<CancelHook>>,
}

#[derive(Default)]
struct CallSets {
    live: FxHashSet<TaskId>,
    cancelled: FxHashSet<TaskId>,
}

impl WorkerCalls {
    /// The node handed this worker `task`.
    pub fn handed(&self, task: TaskId) {
        self.state.lock().live.insert(task);
    }

    /// This worker reported `task`'s result.
    pub fn finished(&self, task: TaskId) {
        let mut state = self.state.lock();
        state.live.remove(&task);
        state.cancelled.remove(&task);
    }

    /// `ray.cancel` reached `task`; a call already finished here is left alone.
    pub fn cancel(&self, task: TaskId) {
        {
            let mut state = self.state.lock();
            if !state.live.contains(&task) {
                return;
            }
            state.cancelled.insert(task);
        }
        if let Some(hook) = self.hook.read().as_ref() {
            hook(task);
        }
    }

    pub fn is_cancelled(&self, task: TaskId) -> bool {
        self.state.lock().cancelled.contains(&task)
    }

    pub fn set_hook(&self, hook: CancelHook) {
        *self.hook.write() = Some(hook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff_core::ids::{JobId, TaskIdGenerator};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn only_calls_still_in_hand_are_cancelled_and_the_hook_hears_of_them() {
        let ids = TaskIdGenerator::new(JobId::from_index(1));
        let (running, done) = (ids.next(), ids.next());
        let calls = WorkerCalls::default();
        let told = Arc::new(AtomicUsize::new(0));
        let counter = told.clone();
        calls.set_hook(Box::new(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        }));
        calls.handed(running);
        calls.handed(done);
        calls.finished(done);
        calls.cancel(done);
        calls.cancel(running);
        assert!(calls.is_cancelled(running) && !calls.is_cancelled(done));
        assert_eq!(told.load(Ordering::Relaxed), 1);
        calls.finished(running);
        assert!(!calls.is_cancelled(running));
    }
}

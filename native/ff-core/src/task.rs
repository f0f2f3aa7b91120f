//! What a task is, as the scheduler sees it.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::ids::{FunctionId, ObjectId, TaskId};
use crate::object::Payload;
use crate::resources::ResourceSet;

/// Environment variables a task's worker must be started with, beyond the job's own.
pub type EnvVars = BTreeMap<String, String>;

/// The options shared by every call of one remote function with one set of `.options()`:
/// built once, then shared by all of its tasks.
#[derive(Debug, Clone)]
pub struct TaskOptions {
    pub function_id: FunctionId,
    pub name: Arc<str>,
    pub num_returns: u32,
    pub resources: ResourceSet,
    /// How many times a failed attempt is retried; -1 retries forever.
    pub max_retries: i32,
    /// Application errors may be retried too (the worker decides which ones match).
    pub retry_exceptions: bool,
    /// Serialized tuple of retryable exception classes; empty means any exception.
    pub retry_allowlist: Bytes,
    /// A worker leaves after running this function this many times; 0 means no limit.
    pub max_calls: u32,
    pub env_vars: Arc<EnvVars>,
}

/// One call of a remote function.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub task_id: TaskId,
    pub options: Arc<TaskOptions>,
    /// Arguments with the top-level ObjectRefs left out (nested refs stay in `args.nested`).
    pub args: Payload,
    /// Top-level ObjectRef arguments; the task runs once all of them have values.
    pub arg_refs: Vec<ObjectId>,
}

impl TaskSpec {
    pub fn return_ids(&self) -> impl Iterator<Item = ObjectId> + '_ {
        (1..=self.options.num_returns).map(move |index| ObjectId::for_task(self.task_id, index))
    }

    /// Every object this task keeps alive until it finishes.
    pub fn pinned_objects(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.arg_refs.iter().chain(self.args.nested.iter()).copied()
    }
}

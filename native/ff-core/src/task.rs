//! What a task is, as the scheduler sees it.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::ids::{ActorId, FunctionId, ObjectId, PlacementGroupId, TaskId};
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
    /// A generator whose values stream out as they are yielded (its one return value is the
    /// stream's completion: the item count, or the error that ended it).
    pub streaming: bool,
    /// A streaming task pauses once this many of its items are not consumed yet (0: never).
    pub backpressure: u32,
    pub env_vars: Arc<EnvVars>,
    /// The placement group whose bundle resources `resources` names (the API layer renames
    /// a request as Ray does: `CPU` in bundle 0 of group G is `CPU_group_0_G`).
    pub placement_group: Option<PlacementGroupId>,
    /// Tasks this one submits go to the same placement group unless they name another.
    pub capture_child_tasks: bool,
}

/// A name an actor is registered under, unique in its namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActorName {
    pub namespace: String,
    pub name: String,
}

/// What the node needs to know about an actor beyond its creation task.
#[derive(Debug, Clone)]
pub struct ActorSpec {
    pub actor_id: ActorId,
    pub class_name: Arc<str>,
    /// Held for the actor's life once its constructor has run (the creation task's own
    /// resources are what it needs to be placed, which may be more: Ray places a default
    /// actor with 1 CPU and holds 0).
    pub running: ResourceSet,
    /// Resources the node must have for the actor to be placed there, without taking them
    /// (a default actor needs a node with a CPU but holds none).
    pub placement: ResourceSet,
    /// How many times the actor is re-created after its process dies; -1 forever.
    pub max_restarts: i32,
    /// The namespace of the job that made it (named or not).
    pub namespace: String,
    pub name: Option<ActorName>,
    /// Lives until killed, not until its last handle is gone.
    pub detached: bool,
    /// Calls a caller may have pending on this actor before submitting fails; -1 no limit.
    pub max_pending_calls: i32,
    /// Opaque to the node: what the worker and other processes need to host the actor and to
    /// make handles to it (class description, concurrency settings).
    pub descriptor: Bytes,
}

/// A method call on an actor.
#[derive(Debug, Clone)]
pub struct ActorCall {
    pub actor: ActorId,
    pub method: Arc<str>,
    pub concurrency_group: Option<Arc<str>>,
}

/// What a task does.
#[derive(Debug, Clone)]
pub enum TaskKind {
    Function,
    /// Runs an actor's constructor on a worker that then hosts the actor.
    ActorCreation(Arc<ActorSpec>),
    ActorCall(ActorCall),
}

/// One call of a remote function, an actor's constructor, or an actor's method.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub task_id: TaskId,
    pub kind: TaskKind,
    pub options: Arc<TaskOptions>,
    /// Arguments with the top-level ObjectRefs left out (nested refs stay in `args.nested`).
    pub args: Payload,
    /// Top-level ObjectRef arguments; the task runs once all of them have values.
    pub arg_refs: Vec<ObjectId>,
    /// The task that submitted this one, if a task did (a recursive cancel follows it).
    pub parent: Option<TaskId>,
}

impl TaskSpec {
    pub fn actor_call(&self) -> Option<&ActorCall> {
        match &self.kind {
            TaskKind::ActorCall(call) => Some(call),
            _ => None,
        }
    }

    /// The `index`-th (from 0) value a streaming task yields.
    pub fn stream_item(task: TaskId, index: u32) -> ObjectId {
        ObjectId::for_task(task, index + 2)
    }

    pub fn return_ids(&self) -> impl Iterator<Item = ObjectId> + '_ {
        (1..=self.options.num_returns).map(move |index| ObjectId::for_task(self.task_id, index))
    }

    /// Every object this task keeps alive until it finishes.
    pub fn pinned_objects(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.arg_refs.iter().chain(self.args.nested.iter()).copied()
    }
}

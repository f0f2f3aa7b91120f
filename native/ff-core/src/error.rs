//! Errors of the core state machines.

use crate::ids::{ActorId, TaskId, WorkerId};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    #[error("{kind} must be {expected} bytes, got {got}")]
    BadId {
        kind: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("resource quantity {0} is negative or not finite")]
    BadQuantity(String),
    #[error("task {0} was submitted twice")]
    DuplicateTask(TaskId),
    #[error("unknown worker {0}")]
    UnknownWorker(WorkerId),
    #[error("worker {worker} reported task {task}, which it was not running")]
    UnexpectedTaskResult { worker: WorkerId, task: TaskId },
    #[error("task returned {got} values, expected {expected}")]
    WrongReturnCount { expected: usize, got: usize },
    #[error("task {0} does not create an actor")]
    NotAnActorCreation(TaskId),
    #[error("the actor name {name:?} is already taken in namespace {namespace:?}")]
    ActorNameTaken { name: String, namespace: String },
    #[error("actor {actor} already has {limit} pending calls from this caller")]
    PendingCallsLimitExceeded { actor: ActorId, limit: i32 },
    #[error(
        "Failed to put an object of {size} bytes into the object store: it is larger than the \
         store's capacity of {capacity} bytes (object_store_memory)."
    )]
    ObjectStoreFull { size: u64, capacity: u64 },
    #[error("unknown actor {0}")]
    UnknownActor(ActorId),
    #[error("the actor was not running call {0}")]
    UnknownActorCall(TaskId),
    #[error("force=True is not supported for actor tasks.")]
    ForceCancelActorTask,
}

//! Errors of the core state machines.

use crate::ids::{TaskId, WorkerId};

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
}

//! Stored values: serialized bytes (opaque to the core) plus the refs nested inside them.

use std::sync::Arc;

use bytes::Bytes;

use crate::ids::ObjectId;

/// Why an object holds an error instead of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// User code raised; the bytes are the serialized exception.
    TaskError,
    /// The worker running the task died and no retries were left.
    WorkerCrashed,
    /// The node does not have the object (freed, or never existed).
    ObjectLost,
    /// The task was cancelled.
    TaskCancelled,
    /// The runtime itself failed, for example a worker process could not start.
    SystemError,
    /// The actor is dead; `data` holds its constructor's error when that is why.
    ActorDied,
    /// The actor's process died and it is being restarted: this call was lost on the way.
    ActorUnavailable,
    /// The caller has as many calls pending on the actor as its max_pending_calls allows.
    PendingCallsLimitExceeded,
}

/// A value or an error, as handed to the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub data: Bytes,
    /// ObjectRefs pickled inside `data`; they stay alive as long as this object does.
    pub nested: Vec<ObjectId>,
    pub error: Option<ErrorKind>,
    /// Human-readable detail for errors the runtime makes (empty for values).
    pub message: String,
}

impl Payload {
    pub fn value(data: impl Into<Bytes>) -> Self {
        Self {
            data: data.into(),
            nested: Vec::new(),
            error: None,
            message: String::new(),
        }
    }

    pub fn with_nested(mut self, nested: Vec<ObjectId>) -> Self {
        self.nested = nested;
        self
    }

    /// An error the runtime made, with no serialized exception attached.
    pub fn system_error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            data: Bytes::new(),
            nested: Vec::new(),
            error: Some(kind),
            message: message.into(),
        }
    }

    pub fn task_error(data: impl Into<Bytes>) -> Self {
        Self {
            data: data.into(),
            nested: Vec::new(),
            error: Some(ErrorKind::TaskError),
            message: String::new(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

/// A payload shared between the object table and every reader of it.
pub type StoredObject = Arc<Payload>;

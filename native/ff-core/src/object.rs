//! Stored values: serialized bytes (opaque to the core) plus the refs nested inside them.

use std::os::fd::AsFd;
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
    /// The node does not have the object (freed, or never existed); the message is its id
    /// in hex.
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
    /// The value is larger than the whole object store.
    ObjectStoreFull,
    /// The task's placement group was removed before the task could finish.
    PlacementGroupRemoved,
}

/// Bytes that live in shared memory rather than in the node's heap: a segment any process
/// can map through its file descriptor. The core only needs its size; the runtime provides it.
pub trait SharedSegment: AsFd + Send + Sync + std::fmt::Debug {
    fn len(&self) -> u64;

    /// Another process got a descriptor of it, or it is being spilled: its memory must not
    /// be reused for another object once it is dropped.
    fn retire(&self) {}

    /// Its descriptor is about to go to the node, which will say when it has closed it. A
    /// nonzero token names the loan: the writer keeps its pages to reuse them once the node
    /// returns them. Zero: no loan (the segment is retired instead).
    fn lend(&self) -> u64 {
        self.retire();
        0
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A value or an error, as handed to the node.
#[derive(Clone, Debug)]
pub struct Payload {
    /// The serialized value, unless it is in `shared`.
    pub data: Bytes,
    /// Where a large value lives instead of `data`.
    pub shared: Option<Arc<dyn SharedSegment>>,
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
            shared: None,
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
            shared: None,
            nested: Vec::new(),
            error: Some(kind),
            message: message.into(),
        }
    }

    pub fn task_error(data: impl Into<Bytes>) -> Self {
        Self {
            data: data.into(),
            shared: None,
            nested: Vec::new(),
            error: Some(ErrorKind::TaskError),
            message: String::new(),
        }
    }

    /// A value stored in a shared-memory segment.
    pub fn shared(segment: Arc<dyn SharedSegment>) -> Self {
        Self {
            data: Bytes::new(),
            shared: Some(segment),
            nested: Vec::new(),
            error: None,
            message: String::new(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }

    /// Bytes this object keeps in shared memory.
    pub fn shared_size(&self) -> u64 {
        self.shared.as_ref().map_or(0, |segment| segment.len())
    }
}

/// Equal when they hold the same bytes, or the very same segment.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        let same_segment = match (&self.shared, &other.shared) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_segment
            && self.data == other.data
            && self.nested == other.nested
            && self.error == other.error
            && self.message == other.message
    }
}

impl Eq for Payload {}

/// A payload shared between the object table and every reader of it.
pub type StoredObject = Arc<Payload>;

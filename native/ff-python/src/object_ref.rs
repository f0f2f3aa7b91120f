//! `ObjectRef` as a native class: hashing, comparison and reference counting are hot paths.
//!
//! A ref made by a session is tracked: the session's table counts it from creation and drops
//! it when the Python object dies. While a value is being pickled, every ref it contains is
//! recorded (see [`begin_capture`]) so the node can keep nested objects alive.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use ff_runtime::core::ids::ObjectId;
use ff_runtime::core::object::{ErrorKind, Payload};
use ff_runtime::Client;
use pyo3::basic::CompareOp;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::segment::Segment;
use pyo3::types::{PyBytes, PyTuple};

/// The Python functions a session's refs call back into, handed down by the Python layer so
/// that this extension never imports the package above it.
pub struct Hooks {
    /// `rebuild(binary) -> ObjectRef`, named in pickles so unpickling makes a tracked ref.
    pub rebuild: Py<PyAny>,
    /// `future(ref) -> concurrent.futures.Future`.
    pub future: Py<PyAny>,
    /// `awaitable(ref) -> awaitable` for `await ref`.
    pub awaitable: Py<PyAny>,
}

/// What every ref of one session shares.
pub struct SessionCore {
    pub client: Arc<dyn Client>,
    pub hooks: Hooks,
}

#[pyclass(module = "fusion_flow._native", name = "ObjectRef", frozen, weakref)]
pub struct ObjectRef {
    pub id: ObjectId,
    owner: Option<Arc<SessionCore>>,
}

impl ObjectRef {
    /// A ref to an object the node already counts this process as holding (fresh results).
    pub fn adopted(owner: &Arc<SessionCore>, id: ObjectId) -> Self {
        owner.client.refs().adopt(id);
        Self {
            id,
            owner: Some(owner.clone()),
        }
    }

    /// A new ref to an existing object: this process starts holding it.
    pub fn added(owner: &Arc<SessionCore>, id: ObjectId) -> Self {
        owner.client.refs().add(id);
        Self {
            id,
            owner: Some(owner.clone()),
        }
    }

    fn owner(&self) -> PyResult<&Arc<SessionCore>> {
        self.owner.as_ref().ok_or_else(|| {
            PyValueError::new_err(
                "this ObjectRef was made from raw bytes and belongs to no session",
            )
        })
    }
}

impl Drop for ObjectRef {
    fn drop(&mut self) {
        if let Some(owner) = &self.owner {
            owner.client.refs().remove(self.id);
        }
    }
}

#[pymethods]
impl ObjectRef {
    /// An untracked ref from an id's 28 bytes (as `ray.ObjectRef(binary)`).
    #[new]
    fn from_binary(binary: &[u8]) -> PyResult<Self> {
        let id = ObjectId::from_bytes(binary).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self { id, owner: None })
    }

    fn hex(&self) -> String {
        self.id.hex()
    }

    fn binary<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.id.as_bytes())
    }

    /// Hex id of the task that made this object.
    fn task_id_hex(&self) -> String {
        self.id.task_id().hex()
    }

    fn is_nil(&self) -> bool {
        self.id.is_nil()
    }

    fn __hash__(&self) -> u64 {
        let mut hasher = rustc_hash::FxHasher::default();
        self.id.hash(&mut hasher);
        hasher.finish()
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let Ok(other) = other.cast::<ObjectRef>() else {
            return py.NotImplemented();
        };
        let equal = self.id == other.get().id;
        match op {
            CompareOp::Eq => equal
                .into_pyobject(py)
                .unwrap()
                .to_owned()
                .into_any()
                .unbind(),
            CompareOp::Ne => (!equal)
                .into_pyobject(py)
                .unwrap()
                .to_owned()
                .into_any()
                .unbind(),
            _ => py.NotImplemented(),
        }
    }

    fn __repr__(&self) -> String {
        format!("ObjectRef({})", self.id.hex())
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let this = slf.get();
        CAPTURE.with(|stack| {
            if let Some(top) = stack.borrow_mut().last_mut() {
                top.push(slf.clone().unbind());
            }
        });
        let binary = PyBytes::new(py, this.id.as_bytes());
        let rebuild = match &this.owner {
            Some(owner) => owner.hooks.rebuild.bind(py).clone(),
            None => py.get_type::<ObjectRef>().into_any(),
        };
        Ok((rebuild, PyTuple::new(py, [binary])?))
    }

    /// A `concurrent.futures.Future` resolved with this object's value.
    fn future(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let hooks = &slf.get().owner()?.hooks;
        hooks.future.call1(slf.py(), (slf,))
    }

    fn __await__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let hooks = &slf.get().owner()?.hooks;
        let awaitable = hooks.awaitable.call1(py, (slf,))?;
        awaitable.call_method0(py, "__await__")
    }
}

thread_local! {
    /// Refs seen while pickling, innermost capture last (captures can nest).
    static CAPTURE: RefCell<Vec<Vec<Py<ObjectRef>>>> = const { RefCell::new(Vec::new()) };
}

/// Starts recording the ObjectRefs pickled on this thread.
#[pyfunction]
pub fn begin_capture() {
    CAPTURE.with(|stack| stack.borrow_mut().push(Vec::new()));
}

/// Stops the innermost recording and returns the refs it saw.
#[pyfunction]
pub fn end_capture(py: Python<'_>) -> NestedRefs {
    let refs = CAPTURE
        .with(|stack| stack.borrow_mut().pop())
        .unwrap_or_default();
    let ids = refs.iter().map(|r| r.bind(py).get().id).collect();
    NestedRefs { ids, _alive: refs }
}

/// The refs pickled inside one value. It keeps them alive until it is dropped, which is after
/// the message carrying the value has gone out: a ref dropped meanwhile (by another thread,
/// say) cannot be reported released before the message that still contains it.
#[pyclass(module = "fusion_flow._native", frozen)]
pub struct NestedRefs {
    pub ids: Vec<ObjectId>,
    _alive: Vec<Py<ObjectRef>>,
}

#[pymethods]
impl NestedRefs {
    fn __len__(&self) -> usize {
        self.ids.len()
    }
}

/// An object that holds an error instead of a value, for the Python layer to raise.
#[pyclass(module = "fusion_flow._native", frozen, get_all)]
pub struct ErrorPayload {
    /// One of "task_error", "worker_crashed", "object_lost", "task_cancelled", "system_error",
    /// "actor_died", "actor_unavailable", "pending_calls_limit_exceeded".
    pub kind: &'static str,
    pub message: String,
    /// The serialized exception, for "task_error".
    pub data: Py<PyBytes>,
}

#[pymethods]
impl ErrorPayload {
    fn __repr__(&self) -> String {
        format!(
            "ErrorPayload(kind={:?}, message={:?})",
            self.kind, self.message
        )
    }
}

pub fn error_kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::TaskError => "task_error",
        ErrorKind::WorkerCrashed => "worker_crashed",
        ErrorKind::ObjectLost => "object_lost",
        ErrorKind::TaskCancelled => "task_cancelled",
        ErrorKind::SystemError => "system_error",
        ErrorKind::ActorDied => "actor_died",
        ErrorKind::ActorUnavailable => "actor_unavailable",
        ErrorKind::PendingCallsLimitExceeded => "pending_calls_limit_exceeded",
        ErrorKind::ObjectStoreFull => "object_store_full",
        ErrorKind::PlacementGroupRemoved => "placement_group_removed",
    }
}

/// A stored object as Python sees it: the value's bytes, a [`Segment`] holding them, or an
/// [`ErrorPayload`].
pub fn payload_to_py(py: Python<'_>, payload: &Payload) -> PyResult<Py<PyAny>> {
    if let (None, Some(segment)) = (payload.error, &payload.shared) {
        let segment = Segment::readable(segment.clone());
        return Ok(Py::new(py, segment)?.into_any());
    }
    let data = PyBytes::new(py, &payload.data);
    Ok(match payload.error {
        None => data.into_any().unbind(),
        Some(kind) => Py::new(
            py,
            ErrorPayload {
                kind: error_kind_name(kind),
                message: payload.message.clone(),
                data: data.unbind(),
            },
        )?
        .into_any(),
    })
}

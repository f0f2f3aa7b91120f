//! The extension's own exception types, one per runtime failure, and the helper that runs a
//! blocking call with the GIL released while still answering Ctrl-C.
//!
//! Errors that belong to objects (a task raised, a worker crashed, an object is lost) are not
//! exceptions here: they come back as [`crate::object_ref::ErrorPayload`] values, which the
//! Python layer turns into Ray's exception classes.

use ff_runtime::error::Refusal;
use ff_runtime::RuntimeError;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    RuntimeShutDownError,
    PyRuntimeError,
    "The runtime has been shut down."
);
pyo3::create_exception!(
    _native,
    NodeGoneError,
    PyRuntimeError,
    "The node this process belongs to is gone."
);
pyo3::create_exception!(
    _native,
    StartupError,
    PyRuntimeError,
    "The node could not start."
);
pyo3::create_exception!(
    _native,
    ProtocolError,
    PyRuntimeError,
    "A malformed message or a broken invariant."
);
pyo3::create_exception!(
    _native,
    ActorNameTakenError,
    PyValueError,
    "The actor name is taken in its namespace."
);
pyo3::create_exception!(
    _native,
    PendingCallsLimitError,
    PyRuntimeError,
    "Too many calls are pending on the actor."
);

pyo3::create_exception!(
    _native,
    StoreFullError,
    PyRuntimeError,
    "The value is larger than the whole object store."
);

pub fn to_py(error: RuntimeError) -> PyErr {
    match error {
        RuntimeError::ShutDown => RuntimeShutDownError::new_err(error.to_string()),
        RuntimeError::NodeGone(_) => NodeGoneError::new_err(error.to_string()),
        RuntimeError::Startup(_) => StartupError::new_err(error.to_string()),
        RuntimeError::Protocol(_) | RuntimeError::Core(_) => {
            ProtocolError::new_err(error.to_string())
        }
        RuntimeError::Io(e) => PyOSError::new_err(e.to_string()),
        RuntimeError::Interrupted => PyRuntimeError::new_err("interrupted"),
        RuntimeError::Refused {
            refusal: Refusal::ActorNameTaken,
            message,
        } => ActorNameTakenError::new_err(message),
        RuntimeError::Refused {
            refusal: Refusal::PendingCallsLimitExceeded,
            message,
        } => PendingCallsLimitError::new_err(message),
        RuntimeError::Refused {
            refusal: Refusal::ObjectStoreFull,
            message,
        } => StoreFullError::new_err(message),
        RuntimeError::Refused {
            refusal: Refusal::ForceCancelActorTask,
            message,
        } => pyo3::exceptions::PyValueError::new_err(message),
    }
}

/// Runs `call` with the GIL released. `call` gets an interrupt check to poll while it blocks;
/// when a signal handler raises (Ctrl-C gives KeyboardInterrupt), the call is abandoned and
/// that exception is returned.
pub fn blocking<T: Send>(
    py: Python<'_>,
    call: impl FnOnce(&mut dyn FnMut() -> bool) -> Result<T, RuntimeError> + Send,
) -> PyResult<T> {
    let mut raised: Option<PyErr> = None;
    let outcome = py.detach(|| {
        let mut interrupt = || match Python::attach(|py| py.check_signals()) {
            Ok(()) => false,
            Err(error) => {
                raised = Some(error);
                true
            }
        };
        call(&mut interrupt)
    });
    match (outcome, raised) {
        (Err(RuntimeError::Interrupted), Some(error)) => Err(error),
        (Ok(value), _) => Ok(value),
        (Err(error), _) => Err(to_py(error)),
    }
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add(
        "RuntimeShutDownError",
        py.get_type::<RuntimeShutDownError>(),
    )?;
    module.add("NodeGoneError", py.get_type::<NodeGoneError>())?;
    module.add("StartupError", py.get_type::<StartupError>())?;
    module.add("ProtocolError", py.get_type::<ProtocolError>())?;
    module.add("ActorNameTakenError", py.get_type::<ActorNameTakenError>())?;
    module.add(
        "PendingCallsLimitError",
        py.get_type::<PendingCallsLimitError>(),
    )?;
    module.add("StoreFullError", py.get_type::<StoreFullError>())?;
    Ok(())
}

//! Task descriptions crossing the boundary: the template a remote function builds once per set
//! of options, and the call a worker receives.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use ff_runtime::convert::{self, FrameFds};
use ff_runtime::core::ids::{FunctionId, PlacementGroupId};
use ff_runtime::core::resources::{Quantity, ResourceSet};
use ff_runtime::core::task::TaskOptions;
use ff_runtime::proto as pb;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::object_ref::payload_to_py;

pub fn resource_set(resources: HashMap<String, f64>) -> PyResult<ResourceSet> {
    let mut set = ResourceSet::new();
    for (name, amount) in resources {
        let amount =
            Quantity::from_f64(amount).map_err(|e| PyValueError::new_err(e.to_string()))?;
        set.set(&name, amount);
    }
    Ok(set)
}

pub fn resource_dict<'py>(py: Python<'py>, set: &ResourceSet) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, amount) in set.iter() {
        dict.set_item(name, amount.to_f64())?;
    }
    Ok(dict)
}

/// Everything about a task that does not change from call to call.
#[pyclass(module = "fusion_flow._native", frozen)]
pub struct TaskTemplate {
    pub options: Arc<TaskOptions>,
}

#[pymethods]
impl TaskTemplate {
    #[new]
    #[pyo3(signature = (*, function_id, name, num_returns, resources, max_retries, retry_exceptions, retry_allowlist, max_calls, env_vars, streaming=false, backpressure=0, placement_group=None, capture_child_tasks=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        function_id: &[u8],
        name: String,
        num_returns: u32,
        resources: HashMap<String, f64>,
        max_retries: i32,
        retry_exceptions: bool,
        retry_allowlist: &[u8],
        max_calls: u32,
        env_vars: BTreeMap<String, String>,
        streaming: bool,
        backpressure: u32,
        placement_group: Option<&[u8]>,
        capture_child_tasks: bool,
    ) -> PyResult<Self> {
        let function_id = FunctionId::from_bytes(function_id)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let placement_group = placement_group
            .map(PlacementGroupId::from_bytes)
            .transpose()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self {
            options: Arc::new(TaskOptions {
                function_id,
                name: name.into(),
                num_returns,
                resources: resource_set(resources)?,
                max_retries,
                retry_exceptions,
                retry_allowlist: Bytes::copy_from_slice(retry_allowlist),
                max_calls,
                streaming,
                backpressure,
                env_vars: Arc::new(env_vars),
                placement_group,
                capture_child_tasks,
            }),
        })
    }

    #[getter]
    fn num_returns(&self) -> u32 {
        self.options.num_returns
    }

    #[getter]
    fn streaming(&self) -> bool {
        self.options.streaming
    }
}

/// A task handed to this worker to run.
#[pyclass(module = "fusion_flow._native", frozen, get_all)]
pub struct TaskCall {
    pub task_id: Py<PyBytes>,
    pub function_id: Py<PyBytes>,
    /// The pickled function when this worker has not run it before, else None.
    pub function: Option<Py<PyBytes>>,
    pub name: String,
    /// The pickled arguments: bytes, or a Segment.
    pub args: Py<PyAny>,
    /// Values of the top-level ObjectRef arguments: bytes, or an ErrorPayload.
    pub arg_values: Py<PyList>,
    pub num_returns: u32,
    pub assigned: Py<PyDict>,
    pub gpu_ids: Vec<u32>,
    pub retry_exceptions: bool,
    pub retry_allowlist: Py<PyBytes>,
    /// For an actor's constructor, how many times the actor has been restarted.
    pub attempt: u32,
    /// "function", "actor_creation" or "actor_call".
    pub kind: &'static str,
    /// The actor this creates or calls (16 bytes), else None.
    pub actor_id: Option<Py<PyBytes>>,
    /// For a call: the method; for a creation: None.
    pub method: Option<String>,
    pub concurrency_group: Option<String>,
    /// For a creation: the actor's description (class, concurrency settings) and name.
    pub actor_descriptor: Option<Py<PyBytes>>,
    pub actor_name: Option<String>,
    /// A generator whose values go to the node one by one (`Session.stream_item`).
    pub streaming: bool,
    /// Nonzero: after each value, wait for the node's go-ahead (`Session.stream_credit`).
    pub backpressure: u32,
    /// Tasks this one submits go to its placement group unless they name another.
    pub capture_child_tasks: bool,
}

impl TaskCall {
    /// The task as Python sees it; `fds` are the descriptors of its shared payloads.
    pub fn from_wire(py: Python<'_>, task: pb::ExecuteTask, fds: FrameFds) -> PyResult<Self> {
        let mut fds = fds.into_iter();
        let mut incoming = convert::Incoming::fds(&mut fds);
        let args = convert::payload_from_wire(task.args.unwrap_or_default(), &mut incoming)
            .map_err(crate::errors::to_py)?;
        let args = payload_to_py(py, &args)?;
        let arg_values = PyList::empty(py);
        for value in task.arg_values {
            let payload =
                convert::payload_from_wire(value, &mut incoming).map_err(crate::errors::to_py)?;
            arg_values.append(payload_to_py(py, &payload)?)?;
        }
        let assigned = ff_runtime::convert::resources_from_wire(&task.assigned)
            .map_err(crate::errors::to_py)?;
        let bytes = |b: &[u8]| PyBytes::new(py, b).unbind();
        let (kind, actor_id, method, concurrency_group, actor_descriptor, actor_name) =
            match &task.kind {
                None => ("function", None, None, None, None, None),
                Some(pb::execute_task::Kind::ActorCreation(actor)) => (
                    "actor_creation",
                    Some(bytes(&actor.actor_id)),
                    None,
                    None,
                    Some(bytes(&actor.descriptor)),
                    (!actor.name.is_empty()).then(|| actor.name.clone()),
                ),
                Some(pb::execute_task::Kind::ActorCall(call)) => (
                    "actor_call",
                    Some(bytes(&call.actor_id)),
                    Some(call.method.clone()),
                    (!call.concurrency_group.is_empty()).then(|| call.concurrency_group.clone()),
                    None,
                    None,
                ),
            };
        Ok(Self {
            streaming: task.streaming,
            backpressure: task.backpressure,
            capture_child_tasks: task.capture_child_tasks,
            kind,
            actor_id,
            method,
            concurrency_group,
            actor_descriptor,
            actor_name,
            task_id: PyBytes::new(py, &task.task_id).unbind(),
            function_id: PyBytes::new(py, &task.function_id).unbind(),
            function: (!task.function.is_empty())
                .then(|| PyBytes::new(py, &task.function).unbind()),
            name: task.name,
            args,
            arg_values: arg_values.unbind(),
            num_returns: task.num_returns,
            assigned: resource_dict(py, &assigned)?.unbind(),
            gpu_ids: task.gpu_ids,
            retry_exceptions: task.retry_exceptions,
            retry_allowlist: PyBytes::new(py, &task.retry_exception_allowlist).unbind(),
            attempt: task.attempt,
        })
    }
}

#[pymethods]
impl TaskCall {
    /// The task id as hex, as `get_runtime_context().get_task_id()` reports it.
    fn task_id_hex(&self, py: Python<'_>) -> String {
        let bytes: &[u8] = self.task_id.as_bytes(py);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

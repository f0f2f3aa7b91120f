//! `Session`: one process's handle on the runtime. In the driver it hosts the node; in a worker
//! it is the connection to the node. Python sees the same methods either way.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ff_runtime::client::StreamStep;
use ff_runtime::core::ids::{ActorId, FunctionId, ObjectId, TaskId, WorkerId};
use ff_runtime::core::node::ActorCreated;
use ff_runtime::core::object::Payload;
use ff_runtime::core::task::{ActorCall, ActorName, ActorSpec, TaskKind, TaskSpec};
use ff_runtime::node::{DriverEvent, Stream, SOCKET_NAME};
use ff_runtime::{Client, GetOutcome, Node, NodeConfig, WorkerClient};
use pyo3::exceptions::{PyRuntimeError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use rustc_hash::FxHashSet;

use crate::errors::{blocking, to_py};
use crate::object_ref::{payload_to_py, Hooks, NestedRefs, ObjectRef, SessionCore};
use crate::segment::payload_of;
use crate::task::{resource_dict, resource_set, TaskCall, TaskTemplate};

enum Role {
    Driver(Arc<Node>),
    Worker(Arc<WorkerClient>),
    /// A driver attached to another session's node over its socket.
    Attached(Arc<WorkerClient>),
}

#[pyclass(module = "fusion_flow._native", frozen)]
pub struct Session {
    core: Arc<SessionCore>,
    role: Role,
}

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn timeout(seconds: Option<f64>) -> Option<Duration> {
    seconds.map(|s| Duration::from_secs_f64(s.max(0.0)))
}

fn ids_of(refs: &Bound<'_, PyList>) -> PyResult<Vec<ObjectId>> {
    refs.iter()
        .map(|r| Ok(r.cast::<ObjectRef>()?.get().id))
        .collect()
}

/// For an ObjectRefGenerator, the id of the item it yields next: a wait on a generator is a
/// wait for that item (or for the end of the stream, which makes it ready too).
fn next_stream_item(item: &Bound<'_, PyAny>) -> Option<ObjectId> {
    if item.get_type().name().ok()? != "ObjectRefGenerator" {
        return None;
    }
    let completion = item.getattr("_completion").ok()?;
    let completion = completion.cast::<ObjectRef>().ok()?.get().id;
    let index: u32 = item.getattr("_index").ok()?.extract().ok()?;
    Some(TaskSpec::stream_item(completion.task_id(), index))
}

fn hooks_from(hooks: &Bound<'_, PyTuple>) -> PyResult<Hooks> {
    let [rebuild, future, awaitable] = [0, 1, 2].map(|i| hooks.get_item(i).map(Bound::unbind));
    Ok(Hooks {
        rebuild: rebuild?,
        future: future?,
        awaitable: awaitable?,
    })
}

impl Session {
    fn client(&self) -> &Arc<dyn Client> {
        &self.core.client
    }

    fn worker(&self) -> PyResult<&Arc<WorkerClient>> {
        match &self.role {
            Role::Worker(worker) => Ok(worker),
            Role::Driver(_) | Role::Attached(_) => {
                Err(PyRuntimeError::new_err("only a worker process runs tasks"))
            }
        }
    }
}

#[pymethods]
impl Session {
    /// Starts a node inside this process and returns the driver's session on it.
    #[staticmethod]
    #[pyo3(signature = (*, resources, namespace, worker_program, worker_args, fork_server_args, worker_env, worker_cwd, log_to_driver, prestart_workers, session_root, hooks))]
    #[allow(clippy::too_many_arguments)]
    fn start_driver(
        py: Python<'_>,
        resources: HashMap<String, f64>,
        namespace: String,
        worker_program: PathBuf,
        worker_args: Vec<String>,
        fork_server_args: Option<Vec<String>>,
        worker_env: Vec<(String, String)>,
        worker_cwd: PathBuf,
        log_to_driver: bool,
        prestart_workers: u32,
        session_root: PathBuf,
        hooks: &Bound<'_, PyTuple>,
    ) -> PyResult<Self> {
        let config = NodeConfig {
            resources: resource_set(resources)?,
            namespace,
            worker_program,
            worker_args,
            fork_server_args,
            worker_env,
            worker_cwd,
            log_to_driver,
            prestart_workers,
            session_root,
        };
        let hooks = hooks_from(hooks)?;
        let node = py.detach(|| Node::start(config)).map_err(to_py)?;
        let client: Arc<dyn Client> = node.client();
        Ok(Self {
            core: Arc::new(SessionCore { client, hooks }),
            role: Role::Driver(node),
        })
    }

    /// Connects this worker process to its node.
    #[staticmethod]
    fn connect_worker(
        py: Python<'_>,
        socket: PathBuf,
        worker_id: &str,
        hooks: &Bound<'_, PyTuple>,
    ) -> PyResult<Self> {
        let worker_id = WorkerId::from_hex(worker_id).map_err(value_error)?;
        let hooks = hooks_from(hooks)?;
        let worker = py
            .detach(|| WorkerClient::connect(&socket, worker_id))
            .map_err(to_py)?;
        let client: Arc<dyn Client> = worker.clone();
        Ok(Self {
            core: Arc::new(SessionCore { client, hooks }),
            role: Role::Worker(worker),
        })
    }

    /// Attaches another driver to the running node at `socket` (the Ray Client's connection):
    /// everything it does goes over the node's socket, as a worker's calls do.
    #[staticmethod]
    fn attach_driver(
        py: Python<'_>,
        socket: PathBuf,
        hooks: &Bound<'_, PyTuple>,
    ) -> PyResult<Self> {
        let hooks = hooks_from(hooks)?;
        let attached = py
            .detach(|| WorkerClient::attach_driver(&socket))
            .map_err(to_py)?;
        let client: Arc<dyn Client> = attached.clone();
        Ok(Self {
            core: Arc::new(SessionCore { client, hooks }),
            role: Role::Attached(attached),
        })
    }

    /// The node's socket, where workers and attached drivers connect.
    #[getter]
    fn socket_path(&self) -> PathBuf {
        self.client().info().session_dir.join(SOCKET_NAME)
    }

    #[getter]
    fn is_driver(&self) -> bool {
        matches!(self.role, Role::Driver(_))
    }

    #[getter]
    fn node_id(&self) -> String {
        self.client().info().node_id.hex()
    }

    #[getter]
    fn job_id(&self) -> String {
        self.client().info().job_id.hex()
    }

    #[getter]
    fn namespace(&self) -> String {
        self.client().info().namespace.clone()
    }

    #[getter]
    fn session_dir(&self) -> PathBuf {
        self.client().info().session_dir.clone()
    }

    /// This worker's id as hex; None in the driver.
    #[getter]
    fn worker_id(&self) -> Option<String> {
        self.client().info().worker_id.map(|id| id.hex())
    }

    fn register_function(&self, function_id: &[u8], function: &[u8]) -> PyResult<()> {
        let id = FunctionId::from_bytes(function_id).map_err(value_error)?;
        self.client()
            .register_function(id, Bytes::copy_from_slice(function))
            .map_err(to_py)
    }

    /// Submits a call of `template` (of a function, or with `actor_id` and `method` of an
    /// actor's method); returns one ObjectRef per return value. With `confirm` the node must
    /// accept the call first (it refuses calls past an actor's max_pending_calls).
    /// `parent`: the id of the task this process is running that submits the call, if any.
    #[pyo3(signature = (template, args, nested, arg_refs, actor_id=None, method=None, concurrency_group=None, confirm=false, parent=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        py: Python<'_>,
        template: &TaskTemplate,
        args: &Bound<'_, PyAny>,
        nested: Option<PyRef<'_, NestedRefs>>,
        arg_refs: &Bound<'_, PyList>,
        actor_id: Option<&[u8]>,
        method: Option<&str>,
        concurrency_group: Option<&str>,
        confirm: bool,
        parent: Option<&[u8]>,
    ) -> PyResult<Py<PyList>> {
        let kind = match (actor_id, method) {
            (Some(actor), Some(method)) => TaskKind::ActorCall(ActorCall {
                actor: ActorId::from_bytes(actor).map_err(value_error)?,
                method: method.into(),
                concurrency_group: concurrency_group.map(Into::into),
            }),
            _ => TaskKind::Function,
        };
        let ids = self.client().task_ids();
        let task_id = match &kind {
            TaskKind::ActorCall(call) => ids.next_for_actor(call.actor),
            _ => ids.next(),
        };
        let spec = TaskSpec {
            task_id,
            kind,
            options: template.options.clone(),
            args: payload_of(args, nested.as_deref())?,
            arg_refs: ids_of(arg_refs)?,
            parent: parent
                .map(TaskId::from_bytes)
                .transpose()
                .map_err(value_error)?,
        };
        let returns: Vec<ObjectId> = spec.return_ids().collect();
        self.client().submit(spec, confirm).map_err(to_py)?;
        let refs = PyList::empty(py);
        for id in returns {
            refs.append(Py::new(py, ObjectRef::adopted(&self.core, id))?)?;
        }
        Ok(refs.unbind())
    }

    /// Creates an actor whose constructor is a call of `template` (the class's function id,
    /// its placement resources, env vars). Returns (actor id, a ref to the actor's handle
    /// object, None) — or, when `get_if_exists` finds a live actor of that name, (its id, a
    /// ref to its handle object, its descriptor).
    #[pyo3(signature = (template, args, nested, arg_refs, *, class_name, running, placement, max_restarts, namespace, name, detached, max_pending_calls, descriptor, get_if_exists))]
    #[allow(clippy::too_many_arguments)]
    fn create_actor<'py>(
        &self,
        py: Python<'py>,
        template: &TaskTemplate,
        args: &Bound<'_, PyAny>,
        nested: Option<PyRef<'_, NestedRefs>>,
        arg_refs: &Bound<'_, PyList>,
        class_name: String,
        running: HashMap<String, f64>,
        placement: HashMap<String, f64>,
        max_restarts: i32,
        namespace: String,
        name: Option<String>,
        detached: bool,
        max_pending_calls: i32,
        descriptor: &[u8],
        get_if_exists: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let actor_id = ActorId::new(self.client().info().job_id);
        let actor = ActorSpec {
            actor_id,
            class_name: class_name.into(),
            running: resource_set(running)?,
            placement: resource_set(placement)?,
            max_restarts,
            name: name.map(|name| ActorName {
                namespace: namespace.clone(),
                name,
            }),
            namespace,
            detached,
            max_pending_calls,
            descriptor: Bytes::copy_from_slice(descriptor),
        };
        let spec = TaskSpec {
            task_id: actor_id.creation_task(),
            kind: TaskKind::ActorCreation(Arc::new(actor)),
            options: template.options.clone(),
            args: payload_of(args, nested.as_deref())?,
            arg_refs: ids_of(arg_refs)?,
            parent: None,
        };
        let created = self
            .client()
            .create_actor(spec, get_if_exists)
            .map_err(to_py)?;
        let (actor, descriptor) = match created {
            ActorCreated::New => (actor_id, None),
            ActorCreated::Existing { actor, descriptor } => (actor, Some(descriptor)),
        };
        let handle = ObjectRef::adopted(&self.core, actor.handle_object());
        let descriptor = descriptor.map(|d| PyBytes::new(py, &d));
        (PyBytes::new(py, actor.as_bytes()), handle, descriptor).into_pyobject(py)
    }

    /// The live actor named `name` in `namespace`: (id, a ref to its handle object,
    /// descriptor), or None.
    fn get_named_actor<'py>(
        &self,
        py: Python<'py>,
        name: String,
        namespace: String,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let client = self.client().clone();
        let found = blocking(py, move |_| {
            client.named_actor(ActorName { namespace, name })
        })?;
        found
            .map(|(actor, descriptor)| {
                let handle = ObjectRef::adopted(&self.core, actor.handle_object());
                (
                    PyBytes::new(py, actor.as_bytes()),
                    handle,
                    PyBytes::new(py, &descriptor),
                )
                    .into_pyobject(py)
            })
            .transpose()
    }

    /// (namespace, name) of live named actors in `namespace`, or in all when None.
    #[pyo3(signature = (namespace))]
    fn list_named_actors(
        &self,
        py: Python<'_>,
        namespace: Option<String>,
    ) -> PyResult<Vec<(String, String)>> {
        let client = self.client().clone();
        let names = blocking(py, move |_| client.named_actors(namespace))?;
        Ok(names.into_iter().map(|n| (n.namespace, n.name)).collect())
    }

    fn kill_actor(&self, actor_id: &[u8], no_restart: bool) -> PyResult<()> {
        let actor = ActorId::from_bytes(actor_id).map_err(value_error)?;
        self.client().kill_actor(actor, no_restart).map_err(to_py)
    }

    /// `ray.cancel` of the task that makes `object` (ValueError: force on an actor call).
    fn cancel(&self, object: &ObjectRef, force: bool, recursive: bool) -> PyResult<()> {
        self.client()
            .cancel(object.id, force, recursive)
            .map_err(to_py)
    }

    /// Whether `ray.cancel` reached `task_id`, a call this worker was handed (always False
    /// in the driver, which runs no tasks).
    fn is_cancelled(&self, task_id: &[u8]) -> PyResult<bool> {
        let task = TaskId::from_bytes(task_id).map_err(value_error)?;
        Ok(match &self.role {
            Role::Worker(worker) => worker.is_cancelled(task),
            Role::Driver(_) | Role::Attached(_) => false,
        })
    }

    /// Worker: `callback(task_id)` runs on the I/O thread, with the GIL, each time
    /// `ray.cancel` reaches a call this worker was handed.
    fn on_cancel(&self, callback: Py<PyAny>) -> PyResult<()> {
        self.worker()?.on_cancel(Box::new(move |task: TaskId| {
            Python::attach(|py| {
                let id = PyBytes::new(py, task.as_bytes());
                if let Err(error) = callback.call1(py, (id,)) {
                    error.print(py);
                }
            });
        }));
        Ok(())
    }

    /// The `index`-th item of the stream whose completion object `generator` refers to: a
    /// ref to it, or None at the end of the stream. Raises TimeoutError when `timeout`
    /// passes first.
    #[pyo3(signature = (generator, index, timeout))]
    fn stream_next(
        &self,
        py: Python<'_>,
        generator: &ObjectRef,
        index: u32,
        timeout: Option<f64>,
    ) -> PyResult<Option<ObjectRef>> {
        let task = generator.id.task_id();
        let client = self.client().clone();
        let step = blocking(py, move |interrupt| {
            client.stream_next(task, index, self::timeout(timeout), interrupt)
        })?;
        match step {
            StreamStep::Item(id) => Ok(Some(ObjectRef::added(&self.core, id))),
            StreamStep::End => Ok(None),
            StreamStep::TimedOut => Err(PyTimeoutError::new_err("the next item is not ready")),
        }
    }

    /// Worker: the streaming task `task_id` yielded its `index`-th value.
    fn stream_item(
        &self,
        task_id: &[u8],
        index: u32,
        data: &Bound<'_, PyAny>,
        nested: Option<PyRef<'_, NestedRefs>>,
    ) -> PyResult<()> {
        let task = TaskId::from_bytes(task_id).map_err(value_error)?;
        let payload = payload_of(data, nested.as_deref())?;
        self.client()
            .stream_item(task, index, payload)
            .map_err(to_py)
    }

    /// Worker: reports ref changes not yet sent (before the process exits).
    fn flush_refs(&self) -> PyResult<()> {
        match &self.role {
            Role::Worker(worker) | Role::Attached(worker) => worker.flush_refs().map_err(to_py),
            Role::Driver(_) => Ok(()),
        }
    }

    /// Worker: the actor this process hosts is about to exit on purpose; `task_id` is the call
    /// that asked for it (it fails now with the actor's death), if any.
    #[pyo3(signature = (actor_id, task_id=None))]
    fn actor_exiting(&self, actor_id: &[u8], task_id: Option<&[u8]>) -> PyResult<()> {
        let actor = ActorId::from_bytes(actor_id).map_err(value_error)?;
        let call = task_id
            .map(TaskId::from_bytes)
            .transpose()
            .map_err(value_error)?;
        self.client().actor_exiting(actor, call).map_err(to_py)
    }

    #[pyo3(signature = (data, nested))]
    fn put(
        &self,
        data: &Bound<'_, PyAny>,
        nested: Option<PyRef<'_, NestedRefs>>,
    ) -> PyResult<ObjectRef> {
        let payload = payload_of(data, nested.as_deref())?;
        let id = ObjectId::for_task(self.client().task_ids().next(), 0);
        self.client().put(id, payload).map_err(to_py)?;
        Ok(ObjectRef::adopted(&self.core, id))
    }

    /// Values of `refs` as a list of bytes; an ErrorPayload for the first error met;
    /// None when `timeout` (seconds) passes first.
    #[pyo3(signature = (refs, timeout))]
    fn get(
        &self,
        py: Python<'_>,
        refs: &Bound<'_, PyList>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let ids = ids_of(refs)?;
        let client = self.client().clone();
        let outcome = blocking(py, move |interrupt| {
            client.get(ids, self::timeout(timeout), interrupt)
        })?;
        Ok(match outcome {
            GetOutcome::Values(values) => {
                let list = PyList::empty(py);
                for value in &values {
                    list.append(payload_to_py(py, value)?)?;
                }
                list.into_any().unbind()
            }
            GetOutcome::Failed(error) => payload_to_py(py, &error)?,
            GetOutcome::TimedOut => py.None(),
        })
    }

    /// `wait` as Ray returns it: (ready refs, other refs), both in input order. Instead of
    /// the lists it returns an int for bad input, checked in this order: -1-i when item i is
    /// not an ObjectRef, 1 when a ref repeats, 2 when `num_returns` is not in 1..=len; the
    /// caller raises Ray's errors.
    #[pyo3(signature = (refs, num_returns, timeout))]
    fn wait_split(
        &self,
        py: Python<'_>,
        refs: &Bound<'_, PyList>,
        num_returns: i64,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let code = |value: i64| -> PyResult<Py<PyAny>> {
            Ok(value.into_pyobject(py)?.into_any().unbind())
        };
        let mut ids = Vec::with_capacity(refs.len());
        for (index, item) in refs.iter().enumerate() {
            match item.cast::<ObjectRef>() {
                Ok(object_ref) => ids.push(object_ref.get().id),
                Err(_) => match next_stream_item(&item) {
                    Some(id) => ids.push(id),
                    None => return code(-1 - index as i64),
                },
            }
        }
        let mut seen = FxHashSet::with_capacity_and_hasher(ids.len(), Default::default());
        if !ids.iter().all(|id| seen.insert(*id)) {
            return code(1);
        }
        if num_returns <= 0 || num_returns as usize > ids.len() {
            return code(2);
        }
        let wanted = num_returns as usize;
        let client = self.client().clone();
        // In the driver most waits find enough already ready: answer those in place,
        // without releasing the GIL (a worker would pay a round trip for it).
        let mut ready = Vec::new();
        if self.is_driver() || timeout == Some(0.0) {
            ready = client
                .wait(ids.clone(), wanted, Some(Duration::ZERO), &mut || false)
                .map_err(to_py)?;
        }
        if ready.len() < wanted && timeout != Some(0.0) {
            ready = blocking(py, move |interrupt| {
                client.wait(ids, wanted, self::timeout(timeout), interrupt)
            })?;
        }
        ready.truncate(wanted);
        let ready_refs = PyList::empty(py);
        let mut others: Option<Bound<'_, PyList>> = None;
        let mut start = 0usize;
        // The refs between ready ones, copied a slice at a time.
        for index in ready
            .iter()
            .map(|i| *i as usize)
            .chain(std::iter::once(refs.len()))
        {
            if index > start {
                let gap = refs.get_slice(start, index);
                others = Some(match others {
                    None => gap,
                    Some(list) => list.add(gap)?.cast_into::<PyList>()?,
                });
            }
            if index < refs.len() {
                ready_refs.append(refs.get_item(index)?)?;
            }
            start = index + 1;
        }
        let others = others.unwrap_or_else(|| PyList::empty(py));
        Ok(PyTuple::new(py, [ready_refs, others])?.into_any().unbind())
    }

    /// (total, available) resources of the node.
    fn resources<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
        let client = self.client().clone();
        let (total, available) = blocking(py, move |_| client.resources())?;
        Ok((resource_dict(py, &total)?, resource_dict(py, &available)?))
    }

    /// A tracked ref to an existing object (used when unpickling).
    fn ref_from_binary(&self, binary: &[u8]) -> PyResult<ObjectRef> {
        let id = ObjectId::from_bytes(binary).map_err(value_error)?;
        Ok(ObjectRef::added(&self.core, id))
    }

    /// Output and notices for the driver to show, waiting up to `timeout` for the first:
    /// ("output", stream 1 or 2, pid, task name or None, line) or
    /// ("infeasible", task name, {resource: amount}).
    fn next_events<'py>(
        &self,
        py: Python<'py>,
        timeout: f64,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let Role::Driver(node) = &self.role else {
            return Ok(Vec::new());
        };
        let node = node.clone();
        let events = py.detach(move || node.next_events(Duration::from_secs_f64(timeout.max(0.0))));
        events
            .into_iter()
            .map(|event| match event {
                DriverEvent::Output {
                    stream,
                    pid,
                    task_name,
                    text,
                } => {
                    let stream = if stream == Stream::Stdout { 1 } else { 2 };
                    ("output", stream, pid, task_name, text).into_pyobject(py)
                }
                DriverEvent::Infeasible { task_name, request } => {
                    ("infeasible", task_name, resource_dict(py, &request)?).into_pyobject(py)
                }
            })
            .collect()
    }

    /// The node's placement groups, through this session's client.
    fn placement_groups(&self) -> crate::placement_groups::PlacementGroupTable {
        crate::placement_groups::PlacementGroupTable::new(
            self.client().clone(),
            self.client().task_ids().job(),
        )
    }

    fn worker_pids(&self) -> Vec<u32> {
        match &self.role {
            Role::Driver(node) => node.worker_pids(),
            Role::Worker(_) | Role::Attached(_) => Vec::new(),
        }
    }

    /// The fork server's pid while it runs (driver only).
    fn fork_server_pid(&self) -> Option<u32> {
        match &self.role {
            Role::Driver(node) => node.fork_server_pid(),
            Role::Worker(_) | Role::Attached(_) => None,
        }
    }

    /// (resident bytes, resident objects, capacity) of the shared store (driver only).
    fn store_usage(&self) -> Option<(u64, usize, u64)> {
        match &self.role {
            Role::Driver(node) => {
                let usage = node.store_usage();
                Some((usage.resident_bytes, usage.resident_objects, usage.capacity))
            }
            Role::Worker(_) | Role::Attached(_) => None,
        }
    }

    /// Objects the node holds (driver only; 0 in a worker).
    fn object_count(&self) -> usize {
        match &self.role {
            Role::Driver(node) => node.object_count(),
            Role::Worker(_) | Role::Attached(_) => 0,
        }
    }

    #[getter]
    fn is_shut_down(&self) -> bool {
        match &self.role {
            Role::Driver(node) => node.is_stopped(),
            Role::Worker(_) | Role::Attached(_) => false,
        }
    }

    /// Stops the node and every worker (driver only; a no-op in a worker). Running tasks
    /// get up to `grace_s` seconds to finish first. Idempotent.
    #[pyo3(signature = (grace_s = 0.0))]
    fn shutdown(&self, py: Python<'_>, grace_s: f64) -> PyResult<()> {
        let grace = Duration::try_from_secs_f64(grace_s).map_err(|_| {
            PyValueError::new_err(format!(
                "the shutdown grace period must be a non-negative number of seconds, got {grace_s}"
            ))
        })?;
        match &self.role {
            Role::Driver(node) => {
                let node = node.clone();
                py.detach(move || node.shutdown(grace));
            }
            Role::Attached(attached) => {
                let _ = attached.flush_refs();
                attached.disconnect();
            }
            Role::Worker(_) => {}
        }
        Ok(())
    }

    /// Worker: the next task to run, or None when told to exit.
    fn next_task(&self, py: Python<'_>) -> PyResult<Option<TaskCall>> {
        let worker = self.worker()?.clone();
        let task = blocking(py, move |interrupt| worker.next_task(interrupt))?;
        task.map(|(task, fds)| TaskCall::from_wire(py, *task, fds))
            .transpose()
    }

    /// Worker: after yielding item `index` of streaming task `task_id`, waits until the node
    /// lets it yield the next one (its backpressure). Interruptible (ray.cancel, Ctrl-C).
    fn stream_credit(&self, py: Python<'_>, task_id: &[u8], index: u32) -> PyResult<()> {
        let task = TaskId::from_bytes(task_id).map_err(value_error)?;
        let worker = self.worker()?.clone();
        blocking(py, move |interrupt| {
            worker.stream_credit(task, index, interrupt)
        })
    }

    /// Worker: the task finished; `returns` holds (pickled value, nested refs) per return.
    fn task_done(
        &self,
        task_id: &[u8],
        returns: Vec<(Bound<'_, PyAny>, Option<PyRef<'_, NestedRefs>>)>,
    ) -> PyResult<()> {
        let task = TaskId::from_bytes(task_id).map_err(value_error)?;
        let payloads = returns
            .iter()
            .map(|(data, nested)| payload_of(data, nested.as_deref()))
            .collect::<PyResult<_>>()?;
        self.worker()?
            .task_done(task, payloads, false)
            .map_err(to_py)
    }

    /// Worker: the task raised; `error` is the serialized exception.
    fn task_failed(&self, task_id: &[u8], error: &[u8], retryable: bool) -> PyResult<()> {
        let task = TaskId::from_bytes(task_id).map_err(value_error)?;
        let payload = Payload::task_error(Bytes::copy_from_slice(error));
        self.worker()?
            .task_done(task, vec![payload], retryable)
            .map_err(to_py)
    }
}

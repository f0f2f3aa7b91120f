"""The process's runtime session: the one module that talks to ``_native``.

A driver gets its session from ``init()`` (which starts a node inside the process); a worker
gets one when it connects at start-up. There is at most one session per process at a time,
held here and nowhere else.

A driver process may also attach a second driver to its own node over the node's socket:
the Ray Client's connection (``ray.util.client``). While it is attached, every API call goes
through it, as Ray's client mode routes the whole ``ray`` namespace through the client,
except inside ``client_hook_disabled()``, where calls reach the in-process session again.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import math
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional

from fusion_flow import _native
from fusion_flow._future_resolver import FutureResolver

# When this process started using fusion-flow (Ray's notices count time from here).
_IMPORTED_AT = time.monotonic()

# How a worker starts: with the directory holding the driver's own fusion_flow first on its
# path (``python -m`` would put the working directory first, and a source checkout there
# would shadow the installed package), then the worker's main loop.
_WORKER_BOOTSTRAP = (
    "import sys; sys.path[0] = sys.argv[1]; from fusion_flow._worker import main; main()"
)
# The fork server (see _fork_server) starts the same way and forks workers ready-imported.
_FORK_SERVER_BOOTSTRAP = (
    "import sys; sys.path[0] = sys.argv[1]; from fusion_flow._fork_server import main; main()"
)
# Set to "0" to start every worker as a new interpreter instead of forking it.
FORK_SERVER_ENV = "FUSION_FLOW_FORK_SERVER"
# How long shutdown() lets running tasks finish before their workers are killed.
SHUTDOWN_GRACE_ENV = "FUSION_FLOW_SHUTDOWN_GRACE_S"
DEFAULT_SHUTDOWN_GRACE_S = 1.0

_session: Optional[Runtime] = None
_attached: Optional[Runtime] = None  # the Ray Client's connection, while it is attached
_on_detach: Optional[Callable[[], None]] = None  # what runs once it has detached
_session_lock = threading.RLock()
# Inside disable_client_hook(): calls go to the in-process session even while attached.
_client_hook_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "fusion_flow_client_hook_disabled", default=False
)


@dataclass
class TaskContext:
    """What a worker knows about the task it is running."""

    task_id: str
    name: str
    function_name: str
    assigned: Dict[str, float]
    gpu_ids: List[int]
    attempt: int
    binary: bytes = b""  # the task id's bytes: the parent of the tasks this one submits
    placement: Any = None  # a ray_compat._placement.Placement when it runs in a bundle


@dataclass
class ActorContext:
    """What a worker knows about the actor it hosts."""

    actor_id: str
    name: Optional[str]
    namespace: Optional[str]
    restarts: int
    is_async: bool
    class_name: str
    descriptor: Any = None  # the ActorDescriptor, to make handles to this actor
    assigned: Dict[str, float] = field(default_factory=dict)  # what the actor holds
    gpu_ids: List[int] = field(default_factory=list)
    capture_child_tasks: bool = False  # its calls submit into its placement group

    def handle_object_id(self) -> bytes:
        """The id of the object every handle to this actor refers to (see ff-core's ids)."""
        return b"\xff" * 8 + bytes.fromhex(self.actor_id) + b"\x00" * 4


@dataclass
class DriverSettings:
    resources: Dict[str, float]
    namespace: str
    job_env: Dict[str, str] = field(default_factory=dict)
    log_to_driver: bool = True
    prestart_workers: int = 0
    session_root: Optional[str] = None
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S


class Runtime:
    """One process's session on a node."""

    def __init__(
        self,
        native: _native.Session,
        job_env: Dict[str, str],
        shutdown_grace_s: float = 0.0,
        attached: bool = False,
    ) -> None:
        self.native = native
        self.shutdown_grace_s = shutdown_grace_s
        self.futures = FutureResolver(self)
        # An attached driver runs no tasks, so it is a driver to the API (no task context).
        self.is_driver: bool = native.is_driver or attached
        self.namespace: str = native.namespace
        self.job_env = job_env
        # The running task: per thread and per coroutine, as actors run calls concurrently.
        self._task: contextvars.ContextVar[Optional[TaskContext]] = contextvars.ContextVar(
            "fusion_flow_task", default=None
        )
        self.current_actor: Optional[ActorContext] = None
        # In Ray the driver is a worker too: its id is the job id padded with ff bytes.
        self.driver_worker_id = native.job_id + "ff" * 24
        self._functions: set = set()
        self._functions_lock = threading.Lock()
        self._printer: Optional[threading.Thread] = None
        self._output: Any = None  # a DriverOutput, once the driver shows worker output
        self._stopping = threading.Event()

    @property
    def current_task(self) -> Optional[TaskContext]:
        return self._task.get()

    def parent_task(self) -> Optional[bytes]:
        """The id of the task this thread or coroutine runs, for the calls it submits."""
        task = self._task.get()
        return task.binary if task is not None else None

    def enter_task(self, task: TaskContext) -> contextvars.Token:
        return self._task.set(task)

    def leave_task(self, token: contextvars.Token) -> None:
        self._task.reset(token)

    def ensure_function(self, function_id: bytes, pickled: bytes) -> None:
        """Makes a pickled function known to the node, once per session."""
        if function_id in self._functions:
            return
        with self._functions_lock:
            if function_id not in self._functions:
                self.native.register_function(function_id, pickled)
                self._functions.add(function_id)

    def start_printer(self) -> None:
        """Shows worker output and notices on this (the driver's) terminal."""
        from fusion_flow._driver_output import DriverOutput

        self._output = DriverOutput(started_at=_IMPORTED_AT)
        self._printer = threading.Thread(
            target=self._print_events, name="fusion-flow-output", daemon=True
        )
        self._printer.start()

    def _print_events(self) -> None:
        while not self._stopping.is_set():
            self._output.handle(self.native.next_events(0.1))

    def shutdown(self) -> None:
        self.native.shutdown(self.shutdown_grace_s)
        self._stopping.set()
        if self._printer is not None:
            self._printer.join(timeout=1.0)
            self._output.handle(self.native.next_events(0.0))  # what the workers printed last
            self._output.flush()


# ---------------------------------------------------------------- the process's session


def current() -> Optional[Runtime]:
    """The session API calls use: the attached client's while one is attached (unless the
    client hook is disabled here), else the process's own."""
    attached = _attached
    if attached is not None and not _client_hook_disabled.get():
        return attached
    return _session


def own_session() -> Optional[Runtime]:
    """The process's own session, whether or not a client is attached."""
    return _session


def start_driver(settings: DriverSettings) -> Runtime:
    """Starts a node in this process; the returned session becomes the current one."""
    global _session
    with _session_lock:
        if _session is not None:
            raise RuntimeError("a fusion-flow session is already running in this process")
        root = settings.session_root or os.path.join(tempfile.gettempdir(), "fusion_flow")
        native = _native.Session.start_driver(
            resources=settings.resources,
            namespace=settings.namespace,
            worker_program=sys.executable,
            worker_args=["-c", _WORKER_BOOTSTRAP, _package_root()],
            fork_server_args=_fork_server_args(settings.prestart_workers),
            worker_env=_worker_environment(settings.job_env),
            worker_cwd=os.getcwd(),
            log_to_driver=settings.log_to_driver,
            prestart_workers=settings.prestart_workers,
            session_root=root,
            hooks=_HOOKS,
        )
        runtime = Runtime(native, settings.job_env, settings.shutdown_grace_s)
        if settings.log_to_driver:
            runtime.start_printer()
        _session = runtime
        return runtime


def connect_worker(socket: str, worker_id: str) -> Runtime:
    global _session
    native = _native.Session.connect_worker(socket, worker_id, _HOOKS)
    runtime = Runtime(native, {})
    _session = runtime
    return runtime


def attach_driver(on_detach: Optional[Callable[[], None]] = None) -> Runtime:
    """Attaches a client driver to this process's node over its socket; from now on API
    calls go through it (see the module's doc). ``on_detach`` runs once it has detached
    (a client server stops the driver it serves then). RuntimeError without a running
    driver session, or with a client attached already."""
    global _attached, _on_detach
    with _session_lock:
        own = _session
        if own is None or not own.native.is_driver:
            raise RuntimeError("a client can attach only to a driver's running node")
        if _attached is not None:
            raise RuntimeError("a client is attached to this process's node already")
        native = _native.Session.attach_driver(str(own.native.socket_path), _HOOKS)
        _attached = Runtime(native, own.job_env, attached=True)
        _on_detach = on_detach
        return _attached


def detach_driver() -> bool:
    """Ends the attached client's connection, if there is one: the node releases what it
    held. Returns whether there was one."""
    global _attached, _on_detach
    with _session_lock:
        runtime, _attached = _attached, None
        on_detach, _on_detach = _on_detach, None
    if runtime is None:
        return False
    runtime.native.shutdown(0.0)  # for an attached session: disconnects
    if on_detach is not None:
        on_detach()
    return True


def is_attached() -> bool:
    return _attached is not None


@contextlib.contextmanager
def client_hook_disabled() -> Iterator[None]:
    """API calls in this block (this thread or coroutine) reach the process's own session,
    not the attached client (Ray's ``disable_client_hook``)."""
    token = _client_hook_disabled.set(True)
    try:
        yield
    finally:
        _client_hook_disabled.reset(token)


def shutdown() -> None:
    """Ends the current session, if any: with a client attached (and the client hook on),
    that is the client's connection, as ``ray.shutdown()`` in Ray's client mode disconnects.
    Idempotent."""
    global _session
    if not _client_hook_disabled.get() and detach_driver():
        return
    with _session_lock:
        runtime, _session = _session, None
    if runtime is not None and runtime.is_driver:
        detach_driver()  # a client attached to this node ends with it
        runtime.shutdown()


def _shutdown_at_exit() -> None:
    with client_hook_disabled():
        shutdown()


atexit.register(_shutdown_at_exit)


def shutdown_grace_from_environment() -> float:
    """The grace period set in the environment, or the default; ValueError if malformed."""
    text = os.environ.get(SHUTDOWN_GRACE_ENV)
    if text is None:
        return DEFAULT_SHUTDOWN_GRACE_S
    try:
        grace = float(text)
    except ValueError:
        grace = math.nan
    if not math.isfinite(grace) or grace < 0:
        raise ValueError(
            f"{SHUTDOWN_GRACE_ENV} must be a non-negative number of seconds, got {text!r}"
        )
    return grace


def _fork_server_args(prestart_workers: int) -> Optional[List[str]]:
    if os.environ.get(FORK_SERVER_ENV, "1") == "0" or not hasattr(os, "fork"):
        return None
    return ["-c", _FORK_SERVER_BOOTSTRAP, _package_root(), str(prestart_workers)]


def _package_root() -> str:
    """The directory holding the fusion_flow package this process runs (with its extension)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(_native.__file__)))


def _worker_environment(job_env: Dict[str, str]) -> List[tuple]:
    """What every worker starts with: the job's env_vars and the driver's import path, so
    that workers import the same modules the driver can (test modules, local packages)."""
    paths = []
    for entry in sys.path:
        entry = entry or os.getcwd()
        if entry not in paths and os.path.exists(entry):
            paths.append(entry)
    env = dict(job_env)
    inherited = os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(paths + ([inherited] if inherited else []))
    return sorted(env.items())


# ---------------------------------------------------------------- hooks for ObjectRef


def _rebuild_object_ref(binary: bytes) -> _native.ObjectRef:
    """Unpickles an ObjectRef as a tracked ref of the current session."""
    runtime = current()
    if runtime is None:
        return _native.ObjectRef(binary)
    return runtime.native.ref_from_binary(binary)


def _object_ref_future(ref: _native.ObjectRef) -> Any:
    """A ``concurrent.futures.Future`` that the session's resolver sets with the ref's value
    or exception."""
    runtime = current()
    if runtime is None:
        import concurrent.futures

        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_exception(RuntimeError("fusion-flow is not running"))
        return future
    return runtime.futures.future(ref)


def _object_ref_awaitable(ref: _native.ObjectRef) -> Any:
    import asyncio

    return asyncio.wrap_future(_object_ref_future(ref))


_HOOKS = (_rebuild_object_ref, _object_ref_future, _object_ref_awaitable)

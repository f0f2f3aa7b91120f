"""fusion_flow.ray_compat.exceptions: Ray 2.60's hierarchy, texts and pickling.

Expected class bases, str() texts and warnings were observed on Ray 2.60.0.
"""

import logging
import os
import pickle
import socket
import sys

import cloudpickle
import pytest

from fusion_flow.ray_compat import exceptions as E

# name -> MRO names after the class itself, as on Ray 2.60.
HIERARCHY = {
    "RayError": ["Exception", "BaseException", "object"],
    "ActorAlreadyExistsError": ["ValueError", "RayError", "Exception", "BaseException", "object"],
    "ActorDiedError": ["RayActorError", "RayError", "Exception", "BaseException", "object"],
    "ActorHandleNotFoundError": ["ValueError", "RayError", "Exception", "BaseException", "object"],
    "ActorPlacementGroupRemoved": ["RayError", "Exception", "BaseException", "object"],
    "ActorUnavailableError": ["RayActorError", "RayError", "Exception", "BaseException", "object"],
    "ActorUnschedulableError": ["RayError", "Exception", "BaseException", "object"],
    "AsyncioActorExit": ["RayError", "Exception", "BaseException", "object"],
    "AuthenticationError": ["RayError", "Exception", "BaseException", "object"],
    "CrossLanguageError": ["RayError", "Exception", "BaseException", "object"],
    "GetTimeoutError": [
        "RayError", "TimeoutError", "OSError", "Exception", "BaseException", "object",
    ],
    "LocalRayletDiedError": ["RayError", "Exception", "BaseException", "object"],
    "NodeDiedError": ["RayError", "Exception", "BaseException", "object"],
    "ObjectFetchTimedOutError": [
        "ObjectLostError", "RayError", "Exception", "BaseException", "object",
    ],
    "ObjectFreedError": ["ObjectLostError", "RayError", "Exception", "BaseException", "object"],
    "ObjectLostError": ["RayError", "Exception", "BaseException", "object"],
    "ObjectReconstructionFailedError": [
        "ObjectLostError", "RayError", "Exception", "BaseException", "object",
    ],
    "ObjectRefStreamEndOfStreamError": ["RayError", "Exception", "BaseException", "object"],
    "ObjectStoreFullError": ["RayError", "Exception", "BaseException", "object"],
    "OufOfBandObjectRefSerializationException": [
        "RayError", "Exception", "BaseException", "object",
    ],
    "OutOfDiskError": ["RayError", "Exception", "BaseException", "object"],
    "OutOfMemoryError": ["RayError", "Exception", "BaseException", "object"],
    "OwnerDiedError": ["ObjectLostError", "RayError", "Exception", "BaseException", "object"],
    "PendingCallsLimitExceeded": ["RayError", "Exception", "BaseException", "object"],
    "PlasmaObjectNotAvailable": ["RayError", "Exception", "BaseException", "object"],
    "RayActorError": ["RayError", "Exception", "BaseException", "object"],
    "RayCgraphCapacityExceeded": [
        "RaySystemError", "RayError", "Exception", "BaseException", "object",
    ],
    "RayChannelError": ["RaySystemError", "RayError", "Exception", "BaseException", "object"],
    "RayChannelTimeoutError": [
        "RayChannelError", "RaySystemError", "RayError", "TimeoutError", "OSError", "Exception",
        "BaseException", "object",
    ],
    "RayDirectTransportError": [
        "RaySystemError", "RayError", "Exception", "BaseException", "object",
    ],
    "RaySystemError": ["RayError", "Exception", "BaseException", "object"],
    "RayTaskError": ["RayError", "Exception", "BaseException", "object"],
    "ReferenceCountingAssertionError": [
        "ObjectLostError", "RayError", "AssertionError", "Exception", "BaseException", "object",
    ],
    "RpcError": ["RayError", "Exception", "BaseException", "object"],
    "RuntimeEnvSetupError": ["RayError", "Exception", "BaseException", "object"],
    "StreamingGeneratorReplayInconsistentError": [
        "RaySystemError", "RayError", "Exception", "BaseException", "object",
    ],
    "TaskCancelledError": ["RayError", "Exception", "BaseException", "object"],
    "TaskPlacementGroupRemoved": ["RayError", "Exception", "BaseException", "object"],
    "TaskUnschedulableError": ["RayError", "Exception", "BaseException", "object"],
    "UnserializableException": ["RayError", "Exception", "BaseException", "object"],
    "UserCodeException": ["RayError", "Exception", "BaseException", "object"],
    "WorkerCrashedError": ["RayError", "Exception", "BaseException", "object"],
}  # fmt: skip


def exception_classes(module):
    return {
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseException) and not name.startswith("_")
    }


def mro_names(cls):
    return [c.__name__ for c in cls.__mro__]


def test_every_ray_exception_class_with_ray_bases():
    assert exception_classes(E) == set(HIERARCHY)
    for name, bases in HIERARCHY.items():
        assert mro_names(getattr(E, name)) == [name, *bases]


def test_ray_exception_types_list():
    assert [c.__name__ for c in E.RAY_EXCEPTION_TYPES] == [
        "PlasmaObjectNotAvailable", "RayError", "RayTaskError", "WorkerCrashedError",
        "RayActorError", "ObjectStoreFullError", "ObjectLostError", "ObjectFetchTimedOutError",
        "ReferenceCountingAssertionError", "ObjectReconstructionFailedError", "OwnerDiedError",
        "GetTimeoutError", "AsyncioActorExit", "RuntimeEnvSetupError",
        "TaskPlacementGroupRemoved", "ActorPlacementGroupRemoved", "PendingCallsLimitExceeded",
        "LocalRayletDiedError", "TaskUnschedulableError", "ActorDiedError",
        "ActorUnschedulableError", "ActorUnavailableError", "RayChannelError",
        "RayChannelTimeoutError", "OufOfBandObjectRefSerializationException",
        "RayCgraphCapacityExceeded", "UnserializableException", "ActorAlreadyExistsError",
        "ActorHandleNotFoundError", "AuthenticationError",
    ]  # fmt: skip


NO_CALL_SITE = (
    "Failed to retrieve object ab. To see information about where this ObjectRef was created in "
    "Python, set the environment variable RAY_record_ref_creation_sites=1 during `ray start` "
    "and `ray.init()`."
)
LOGS = "`/tmp/ray/session_latest/logs`"
STORE_FULL = (
    "\nThe local object store is full of objects that are still in scope and cannot be evicted. "
    "Tip: Use the `ray memory` command to list active objects in the cluster."
)
DISK_FULL = (
    "\nThe object cannot be created because the local object store is full and the local "
    "disk's utilization is over capacity (95% by default).Tip: Use `df` on this node to check "
    "disk usage and `ray memory` to check object store memory usage."
)
UNKNOWN_REASON = (
    "Unknown error reason. This should not happen, please file an issue at "
    "https://github.com/ray-project/ray/issues."
)

STR_CASES = [
    (E.TaskCancelledError(), "", ()),
    (E.TaskCancelledError(None, "msg"), "msg", (None, "msg")),
    (E.TaskCancelledError("TaskID(ab)"), "Task: TaskID(ab) was cancelled. ", ("TaskID(ab)",)),
    (E.TaskCancelledError("TaskID(ab)", "m"), "Task: TaskID(ab) was cancelled. m", None),
    (
        E.WorkerCrashedError(),
        "The worker died unexpectedly while executing this task. Check "
        "python-core-worker-*.log files for more information.",
        (),
    ),
    (
        E.LocalRayletDiedError(),
        "The task's local raylet died. Check raylet.out for more information.",
        (),
    ),
    (E.RayActorError(), "The actor experienced an error before finishing this task.", ()),
    (E.RayActorError("id", "msg"), "msg", ("id", "msg")),
    (E.ActorDiedError(), "The actor died unexpectedly before finishing this task.", ()),
    (E.RaySystemError("x"), "System error: x", ("x",)),
    (E.RaySystemError("x", "tb"), "System error: x\ntraceback: tb", None),
    (E.ObjectStoreFullError(), STORE_FULL, ()),
    (E.ObjectStoreFullError("msg"), "msg" + STORE_FULL, ("msg",)),
    (E.OutOfDiskError(), DISK_FULL, ()),
    (E.OutOfMemoryError("oom"), "oom", ("oom",)),
    (E.NodeDiedError("nd"), "nd", ("nd",)),
    (
        E.ObjectLostError("ab", None, ""),
        NO_CALL_SITE + "\n\nAll copies of ab have been lost due to node failure. Check cluster "
        f"logs ({LOGS}) for more information about the failure.",
        ("ab", None, ""),
    ),
    (
        E.ObjectLostError("ab", None, "a | b | c"),
        "Failed to retrieve object ab. The ObjectRef was created at: a\n  b\n  c\n\nAll copies "
        f"of ab have been lost due to node failure. Check cluster logs ({LOGS}) for more "
        "information about the failure.",
        None,
    ),
    (
        E.ObjectFetchTimedOutError("ab", None, ""),
        NO_CALL_SITE + "\n\nFetch for object ab timed out because no locations were found for "
        "the object. This may indicate a system-level bug.",
        None,
    ),
    (
        E.ReferenceCountingAssertionError("ab", None, "x"),
        "Failed to retrieve object ab. The ObjectRef was created at: x\n\nThe object has already "
        "been deleted by the reference counting protocol. This should not happen.",
        None,
    ),
    (
        E.ObjectFreedError("ab", None, ""),
        NO_CALL_SITE + "\n\nThe object was manually freed using the internal `free` call. "
        "Please ensure that `free` is only called once the object is no longer needed.",
        None,
    ),
    (
        E.OwnerDiedError("ab", None, ""),
        NO_CALL_SITE + "\n\nThe object's owner has exited. This is the Python worker that first "
        f"created the ObjectRef via `.remote()` or `ray.put()`. Check cluster logs ({LOGS}) for "
        "more information about the Python worker failure.",
        None,
    ),
    (
        E.ObjectReconstructionFailedError("ab"),
        NO_CALL_SITE + "\n\n[UNKNOWN] " + UNKNOWN_REASON,
        ("ab",),
    ),
    (
        E.ObjectReconstructionFailedError("ab", reason_message="rm"),
        NO_CALL_SITE + "\n\n[UNKNOWN] rm",
        None,
    ),
    (
        E.ObjectReconstructionFailedError("ab", reason=27),
        NO_CALL_SITE + "\n\n[OBJECT_UNRECONSTRUCTABLE_PUT] The object cannot be reconstructed "
        "because it was created by ray.put(), which has no task lineage. To prevent this error, "
        "return the value from a task instead.",
        None,
    ),
    (
        E.ObjectReconstructionFailedError("ab", reason=8, call_site="x | y"),
        "Failed to retrieve object ab. The ObjectRef was created at: x\n  y\n\n[OBJECT_LOST] "
        + UNKNOWN_REASON,
        None,
    ),
    (E.GetTimeoutError("Get timed out"), "Get timed out", ("Get timed out",)),
    (E.PlasmaObjectNotAvailable(), "", ()),
    (E.AsyncioActorExit(), "", ()),
    (E.RuntimeEnvSetupError(), "Failed to set up runtime environment.", ()),
    (E.RuntimeEnvSetupError("why"), "Failed to set up runtime environment.\nwhy", ("why",)),
    (
        E.TaskPlacementGroupRemoved(),
        "The placement group corresponding to this task has been removed.",
        (),
    ),
    (
        E.ActorPlacementGroupRemoved(),
        "The placement group corresponding to this Actor has been removed.",
        (),
    ),
    (E.PendingCallsLimitExceeded("x"), "x", ("x",)),
    (E.TaskUnschedulableError("dead"), "The task is not schedulable: dead", ("dead",)),
    (E.ActorUnschedulableError("dead"), "The actor is not schedulable: dead", ("dead",)),
    (E.ObjectRefStreamEndOfStreamError(), "", ()),
    (E.StreamingGeneratorReplayInconsistentError("c"), "System error: c", ("c",)),
    (E.OufOfBandObjectRefSerializationException("o"), "o", ("o",)),
    (E.RayChannelError("c"), "System error: c", ("c",)),
    (E.RayChannelTimeoutError("c"), "System error: c", ()),  # OSError keeps no args here
    (E.RayCgraphCapacityExceeded("c"), "System error: c", ("c",)),
    (E.RayDirectTransportError("c"), "System error: c", ("c",)),
    (
        E.UnserializableException("orig"),
        "Failed to deserialize exception. Refer to https://docs.ray.io/en/latest/ray-core/"
        "objects/serialization.html#custom-serializers-for-exceptions for more information.\n"
        "Original exception:\norig",
        ("orig",),
    ),
    (E.ActorAlreadyExistsError("dup"), "dup", ("dup",)),
    (E.ActorHandleNotFoundError("nf"), "nf", ("nf",)),
    (E.RpcError("rpc"), "rpc", ("rpc",)),
    (E.UserCodeException("u"), "u", ("u",)),
    (E.RayError("e"), "e", ("e",)),
    (
        E.ActorUnavailableError("gone", None),
        "The actor None is unavailable: gone. The task may or may not have been executed on "
        "the actor.",
        ("gone", None),
    ),
    (
        E.ActorUnavailableError("gone", b"\x01" * 16),
        "The actor 01010101010101010101010101010101 is unavailable: gone. The task may or may "
        "not have been executed on the actor.",
        None,
    ),
]


@pytest.mark.parametrize("error, text, args", STR_CASES)
def test_str_and_args_as_on_ray(error, text, args):
    assert str(error) == text
    if args is not None:
        assert error.args == args


@pytest.mark.parametrize("error", [case[0] for case in STR_CASES])
def test_every_class_pickles(error):
    for dumps in (pickle.dumps, cloudpickle.dumps):
        copy = pickle.loads(dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.args == error.args
        assert vars(copy).keys() == vars(error).keys()


def test_keyword_constructed_errors_pickle():
    # Ray's own classes fail here (their __init__ is called again with args == ()).
    error = E.ObjectLostError(object_ref_hex="ab", owner_address=None, call_site="")
    assert error.args == ()
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


class UserRayError(E.RayError):
    def __init__(self, a, b):
        super().__init__(a)
        self.b = b


def test_user_subclasses_keep_default_pickling():
    # As on Ray: the default reduce calls __init__(*args), which needs b.
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'b'"):
        pickle.loads(pickle.dumps(UserRayError("a", "b")))


def test_auth_error_text(monkeypatch):
    help_text = (
        " Ensure that the token for the cluster is available in a local file (e.g., "
        "~/.ray/auth_token or via RAY_AUTH_TOKEN_PATH) or as the `RAY_AUTH_TOKEN` environment "
        "variable. To generate a token for local development, use `ray get-auth-token "
        "--generate` For remote clusters, ensure that the token is propagated to all nodes of "
        "the cluster when token authentication is enabled. For more information, see: "
        "https://docs.ray.io/en/latest/ray-security/token-auth.html"
    )
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    error = E.AuthenticationError("bad")
    assert error.args == ("bad",)
    assert error.__suppress_context__
    assert (
        str(error) == "bad. Note: RAY_AUTH_MODE is currently 'disabled' (not 'token')." + help_text
    )
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert str(error) == "bad." + help_text


def test_cross_language_error():
    class Proto:
        language = "JAVA"
        formatted_exception_string = "java.lang.Boom"

    error = E.CrossLanguageError(Proto())
    assert str(error) == "An exception raised from JAVA:\njava.lang.Boom"


def test_actor_died_error_from_context():
    context = E.ActorDiedErrorContext(
        class_name="A",
        actor_id=b"\x02" * 16,
        error_message="The actor is dead because its worker process has died.",
        pid=12,
        name="named",
        ray_namespace="ns",
        node_ip_address="10.0.0.1",
        never_started=True,
        preempted=True,
    )
    error = E.ActorDiedError(context)
    assert str(error) == (
        "The actor died unexpectedly before finishing this task.\n"
        "\tclass_name: A\n"
        f"\tactor_id: {'02' * 16}\n"
        "\tpid: 12\n"
        "\tname: named\n"
        "\tnamespace: ns\n"
        "\tip: 10.0.0.1\n"
        "The actor is dead because its worker process has died.\n"
        "The actor never ran - it was cancelled before it started running."
    )
    assert error.actor_id == "02" * 16
    assert error.preempted
    assert not error.actor_init_failed
    bare = E.ActorDiedError(
        E.ActorDiedErrorContext(class_name="B", actor_id="ff", error_message="x")
    )
    assert str(bare) == (
        "The actor died unexpectedly before finishing this task.\n\tclass_name: B\n"
        "\tactor_id: ff\nx"
    )
    assert not bare.preempted


def test_actor_died_error_from_creation_task():
    task_error = E.RayTaskError(
        "m.A.__init__",
        'Traceback (most recent call last):\n  File "a.py", line 3, in __init__\nValueError: v\n',
        ValueError("v"),
        proctitle="ray::A.__init__",
        pid=7,
        ip="1.2.3.4",
        actor_repr="A()",
        actor_id="abcd",
    )
    error = E.ActorDiedError.from_task_error(task_error)
    assert error.actor_init_failed
    assert error.actor_id == "abcd"
    assert str(error) == (
        "The actor died because of an error raised in its creation task, "
        "\x1b[36mray::A.__init__()\x1b[39m (pid=7, ip=1.2.3.4, actor_id=abcd, repr=A())\n"
        '  File "a.py", line 3, in __init__\nValueError: v'
    )


def test_owner_died_error_names_the_owner():
    owner = {"worker_id": "w1", "node_id": "n1", "ip_address": "10.0.0.2", "port": 1234}
    error = E.OwnerDiedError("ab", owner, "")
    assert str(error) == (
        NO_CALL_SITE + "\n\nThe object's owner has exited. This is the Python worker that first "
        "created the ObjectRef via `.remote()` or `ray.put()`. Check cluster logs "
        "(`/tmp/ray/session_latest/logs/*w1*` at IP address 10.0.0.2) for more information "
        "about the Python worker failure.\n\nOwner worker ID: w1, owner node ID: n1, owner "
        "address: 10.0.0.2:1234."
    )


def test_error_type_codes():
    assert E.ErrorType.TASK_EXECUTION_EXCEPTION == 3
    assert E.ErrorType.OBJECT_UNRECONSTRUCTABLE_LINEAGE_DISABLED == 32
    assert E.ErrorType(34).name == "STREAMING_GENERATOR_REPLAY_INCONSISTENT"


TB = (
    "Traceback (most recent call last):\n"
    '  File "/site/fusion_flow/_worker.py", line 10, in run\n'
    "    return fn(*args)\n"
    "           ^^^^^^^^^\n"
    '  File "/home/u/app.py", line 5, in f\n'
    "    helper()\n"
    '  File "/site/fusion_flow/ray_compat/__init__.py", line 3, in get\n'
    "    return x\n"
    '  File "/home/u/app.py", line 2, in helper\n'
    '    raise ValueError("boom")\n'
    "ValueError: boom\n"
)
HEADER = "\x1b[36mray::f()\x1b[39m (pid=9, ip=10.0.0.1)"


def make_task_error(cause=None, traceback_str=TB, **kwargs):
    cause = ValueError("boom") if cause is None else cause
    kwargs.setdefault("proctitle", "ray::f")
    kwargs.setdefault("pid", 9)
    kwargs.setdefault("ip", "10.0.0.1")
    return E.RayTaskError("app.f", traceback_str, cause, **kwargs)


def test_task_error_str_hides_fusion_flow_frames():
    error = make_task_error()
    assert str(error) == (
        f"{HEADER}\n"
        '  File "/home/u/app.py", line 5, in f\n'
        "    helper()\n"
        '  File "/home/u/app.py", line 2, in helper\n'
        '    raise ValueError("boom")\n'
        "ValueError: boom"
    )
    assert error.args == ("app.f", TB, error.cause, "ray::f", 9, "10.0.0.1")
    assert (error.function_name, error.traceback_str, error.pid, error.ip) == (
        "app.f",
        TB,
        9,
        "10.0.0.1",
    )
    assert error.actor_repr is None and error._actor_id is None


def test_task_error_str_for_chained_and_grouped_tracebacks():
    chained = (
        "Traceback (most recent call last):\n"
        '  File "/home/u/app.py", line 3, in f\n'
        '    {}["a"]\n'
        "KeyError: 'a'\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "/site/fusion_flow/_worker.py", line 10, in run\n'
        "    return fn(*args)\n"
        '  File "/home/u/app.py", line 5, in f\n'
        '    raise RuntimeError("wrapped") from e\n'
        "RuntimeError: wrapped\n"
    )
    assert str(make_task_error(traceback_str=chained)) == (
        f"{HEADER}\n"
        '  File "/home/u/app.py", line 3, in f\n'
        '    {}["a"]\n'
        "KeyError: 'a'\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        f"{HEADER}\n"
        '  File "/home/u/app.py", line 5, in f\n'
        '    raise RuntimeError("wrapped") from e\n'
        "RuntimeError: wrapped"
    )
    # Exception groups get no header (as on Ray) but still lose fusion-flow frames.
    grouped = (
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "/site/fusion_flow/_worker.py", line 10, in run\n'
        "  |     return fn(*args)\n"
        '  |   File "/home/u/app.py", line 5, in f\n'
        '  |     raise ExceptionGroup("grp", [ValueError("a")])\n'
        "  | ExceptionGroup: grp (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | ValueError: a\n"
        "    +------------------------------------\n"
    )
    assert str(make_task_error(traceback_str=grouped)) == (
        "+ Exception Group Traceback (most recent call last):\n"
        '  |   File "/home/u/app.py", line 5, in f\n'
        '  |     raise ExceptionGroup("grp", [ValueError("a")])\n'
        "  | ExceptionGroup: grp (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | ValueError: a\n"
        "    +------------------------------------"
    )


def test_task_error_dependency_note():
    tb = (
        "Traceback (most recent call last):\n"
        '  File "/site/fusion_flow/_task_errors.py", line 80, in capture_dependency_error\n'
        "    raise_if_dependency_failed(error)\n"
        '  File "/site/fusion_flow/_task_errors.py", line 70, in raise_if_dependency_failed\n'
        "    raise error\n"
        "fusion_flow.ray_compat.exceptions.WorkerCrashedError: The worker died.\n"
    )
    assert str(make_task_error(traceback_str=tb)) == (
        f"{HEADER}\n"
        "  At least one of the input arguments for this task could not be computed:\n"
        "fusion_flow.ray_compat.exceptions.WorkerCrashedError: The worker died."
    )


def test_task_error_actor_header_and_text_without_traceback():
    error = make_task_error(actor_repr="Counter(1)", actor_id="ab12")
    assert str(error).split("\n")[0] == (
        "\x1b[36mray::f()\x1b[39m (pid=9, ip=10.0.0.1, actor_id=ab12, repr=Counter(1))"
    )
    assert str(make_task_error(traceback_str="no traceback here")) == "no traceback here"


def test_task_error_defaults(monkeypatch):
    monkeypatch.setattr(E, "_node_ip_address", lambda: "192.0.2.7")
    error = E.RayTaskError("m.f", "tb", ValueError("v"))
    assert error.pid == os.getpid()
    assert error.ip == "192.0.2.7"
    assert error.proctitle == E._current_proctitle()
    assert error.args == ("m.f", "tb", error.cause, None, None, None)


def test_task_error_requires_a_traceback():
    with pytest.raises(AssertionError):
        E.RayTaskError("m.f", None, ValueError("v"), pid=1, ip="i", proctitle="p")


def test_node_ip_address(monkeypatch):
    E._node_ip_address.cache_clear()
    address = E._node_ip_address()
    assert isinstance(address, str) and address.count(".") == 3

    class NoNetwork:
        def __init__(self, *args):
            raise OSError("no network")

    E._node_ip_address.cache_clear()
    monkeypatch.setattr(socket, "socket", NoNetwork)
    assert E._node_ip_address() == "127.0.0.1"
    E._node_ip_address.cache_clear()


def test_current_proctitle(monkeypatch):
    monkeypatch.setattr(sys, "orig_argv", ["python", "app.py"], raising=False)
    assert E._current_proctitle() == "python app.py"
    monkeypatch.delattr(sys, "orig_argv", raising=False)
    monkeypatch.setattr(sys, "argv", ["app.py", "-x"])
    assert E._current_proctitle() == f"{sys.executable} app.py -x"


class HasLock(Exception):
    def __init__(self, message):
        super().__init__(message)
        import threading

        self.lock = threading.Lock()


def test_unpicklable_cause_is_replaced_as_on_ray(caplog):
    with caplog.at_level(logging.ERROR, logger=E.__name__):
        error = make_task_error(HasLock("locked"))
    name = f"{__name__}.HasLock"
    assert type(error.cause) is E.RayError
    assert str(error.cause) == (
        f"Exception {name} isn't serializable: cannot pickle '_thread.lock' object.\n"
        f"Original exception details:\n{TB}"
    )
    assert error.args[2] is error.cause
    assert [r.getMessage() for r in caplog.records] == [
        f"The original cause of the RayTaskError ({name}) isn't serializable."
    ]
    # A RayError cause is not combined: get raises the plain RayTaskError.
    assert error.as_instanceof_cause() is error


def test_task_error_pickles_without_rerunning_init():
    error = make_task_error(actor_repr="A()", actor_id="ab")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is E.RayTaskError
    assert vars(copy).keys() == vars(error).keys()
    assert str(copy) == str(error)
    assert copy.args[:2] == error.args[:2]


def test_as_instanceof_cause_value_error():
    error = make_task_error()
    dual = error.as_instanceof_cause()
    assert type(dual).__name__ == "RayTaskError(ValueError)"
    assert type(dual).__qualname__ == "RayTaskError(ValueError)"
    assert type(dual).__module__ == E.__name__
    assert mro_names(type(dual)) == [
        "RayTaskError(ValueError)", "RayTaskError", "RayError", "ValueError", "Exception",
        "BaseException", "object",
    ]  # fmt: skip
    assert isinstance(dual, ValueError) and isinstance(dual, E.RayTaskError)
    assert str(dual) == str(error)
    assert dual.cause is error.cause
    assert dual.args == (error.cause,)
    assert repr(dual) == "RayTaskError(ValueError)(ValueError('boom'))"
    # Attributes come from the cause; the task's own fields are not there (as on Ray).
    assert not hasattr(dual, "pid")
    assert not hasattr(dual, "function_name")
    dual.args = ("x",)
    assert dual.args == ("x",)


def test_dual_class_is_cached_and_pickles():
    first = make_task_error().as_instanceof_cause()
    second = make_task_error(ValueError("other")).as_instanceof_cause()
    assert type(first) is type(second)
    for dumps in (pickle.dumps, cloudpickle.dumps):
        copy = pickle.loads(dumps(first))
        assert type(copy) is type(first)
        assert str(copy) == str(first)
        assert copy.args[0].args == ("boom",)


class Custom(Exception):
    def __init__(self, a, b="x"):
        super().__init__(a)
        self.b = b


class ReadOnlyArgs(Exception):
    args = property(lambda self: ("ro",))


class Slotted(Exception):
    __slots__ = ("a",)


@pytest.mark.parametrize(
    "cause, mro",
    [
        (KeyError("k"), ["KeyError", "LookupError", "Exception", "BaseException", "object"]),
        (
            KeyboardInterrupt("k"),
            ["Exception", "KeyboardInterrupt", "BaseException", "object"],
        ),
        (SystemExit(2), ["Exception", "SystemExit", "BaseException", "object"]),
        (
            FileNotFoundError(2, "nf"),
            ["FileNotFoundError", "OSError", "Exception", "BaseException", "object"],
        ),
        (
            UnicodeDecodeError("utf-8", b"x", 0, 1, "bad"),
            [
                "UnicodeDecodeError",
                "UnicodeError",
                "ValueError",
                "Exception",
                "BaseException",
                "object",
            ],
        ),
        (Custom("a", "b"), ["Custom", "Exception", "BaseException", "object"]),
        (ReadOnlyArgs("x"), ["ReadOnlyArgs", "Exception", "BaseException", "object"]),
        (Slotted("s"), ["Slotted", "Exception", "BaseException", "object"]),
        (
            E.WorkerCrashedError(),
            ["WorkerCrashedError", "RayError", "Exception", "BaseException", "object"],
        ),
        (
            E.GetTimeoutError("t"),
            [
                "GetTimeoutError",
                "RayError",
                "TimeoutError",
                "OSError",
                "Exception",
                "BaseException",
                "object",
            ],
        ),
        (
            E.ActorAlreadyExistsError("dup"),
            [
                "ActorAlreadyExistsError",
                "ValueError",
                "RayError",
                "Exception",
                "BaseException",
                "object",
            ],
        ),
    ],
)
def test_as_instanceof_cause_mro(cause, mro):
    dual = make_task_error(cause).as_instanceof_cause()
    name = f"RayTaskError({type(cause).__name__})"
    assert mro_names(type(dual)) == [
        name,
        "RayTaskError",
        *(["RayError"] if "RayError" not in mro else []),
        *mro,
    ]
    assert dual.args == (cause,)
    assert isinstance(dual, type(cause))


def test_dual_instance_without_cause_has_no_cause_attribute():
    cls = type(make_task_error().as_instanceof_cause())
    bare = cls.__new__(cls, ValueError("v"))
    with pytest.raises(AttributeError):
        bare.cause  # noqa: B018


def test_reconstruction_error_without_reason_message():
    error = E.ObjectReconstructionFailedError("ab")
    error.reason_message = ""
    assert str(error) == NO_CALL_SITE


def test_dual_instance_reads_cause_attributes():
    dual = make_task_error(Custom("a", "b")).as_instanceof_cause()
    assert dual.b == "b"
    # Attributes the dual class has itself are not read from the cause (Ray: errno None).
    dual = make_task_error(OSError(2, "nf")).as_instanceof_cause()
    assert (dual.errno, dual.strerror) == (None, None)


@pytest.mark.parametrize("cause", [Exception("e"), BaseException("b"), E.RayError("r")])
def test_causes_already_satisfied_by_ray_task_error(cause):
    error = make_task_error(cause)
    assert error.as_instanceof_cause() is error


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is Python 3.11+")
def test_exception_group_cause():
    group = ExceptionGroup("grp", [ValueError(1)])  # noqa: F821
    dual = make_task_error(group).as_instanceof_cause()
    assert type(dual).__name__ == "RayTaskError(ExceptionGroup)"
    assert dual.exceptions[0].args == (1,)
    assert dual.message == "grp"
    assert dual.args == (group,)


class NeedsTwo(Exception):
    def __new__(cls, a, b):
        return super().__new__(cls, a, b)


class RefusesSubclass(Exception):
    def __init_subclass__(cls, **kwargs):
        raise ValueError("nope")


def test_uncombinable_causes_warn_and_raise_plain_task_error(caplog):
    try:
        NeedsTwo.__new__(NeedsTwo, 1)
    except TypeError as e:  # "NeedsTwo.__new__() missing ..."; wording varies by Python
        needs_two_error = e
    with caplog.at_level(logging.WARNING, logger=E.__name__):
        needs_two = make_task_error(NeedsTwo(1, 2))
        assert needs_two.as_instanceof_cause() is needs_two
        refuses = make_task_error(RefusesSubclass("r"))
        assert refuses.as_instanceof_cause() is refuses
    assert [r.getMessage() for r in caplog.records] == [
        f"User exception type <class '{__name__}.NeedsTwo'> in RayTaskError can't be "
        "subclassed! This exception is raised as RayTaskError only. You can use "
        "`ray_task_error.cause` to access the user exception. Failure in subclassing: "
        f"{needs_two_error}",
        f"Failed to combine RayTaskError with user exception type <class '{__name__}."
        "RefusesSubclass'>; raising RayTaskError only. This can happen when the user exception "
        "overrides attributes like `args` or otherwise blocks subclass construction. Failure in "
        "subclassing: nope",
    ]
    with pytest.raises(TypeError):
        needs_two.make_dual_exception_instance()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is Python 3.11+")
def test_base_exception_group_cause_cannot_be_combined(caplog):
    group = BaseExceptionGroup("bg", [KeyboardInterrupt()])  # noqa: F821
    error = make_task_error(group)
    with caplog.at_level(logging.WARNING, logger=E.__name__):
        assert error.as_instanceof_cause() is error
    assert (
        caplog.records[0]
        .getMessage()
        .endswith(
            "Failure in subclassing: "
            "BaseExceptionGroup.__new__() takes exactly 2 arguments (1 given)"
        )
    )


def test_to_bytes_round_trip():
    error = make_task_error()
    copy = E.RayError.from_bytes(error.to_bytes())
    assert type(copy) is E.RayTaskError and str(copy) == str(error)
    crashed = E.RayError.from_bytes(E.WorkerCrashedError().to_bytes())
    assert type(crashed) is E.WorkerCrashedError


class TwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a)
        self.b = b


def test_from_bytes_unserializable_exception():
    error = make_task_error(TwoArgs("x", "y"))
    copy = E.RayError.from_bytes(error.to_bytes())
    assert type(copy) is E.UnserializableException
    assert str(copy) == (
        "Failed to deserialize exception. Refer to https://docs.ray.io/en/latest/ray-core/"
        "objects/serialization.html#custom-serializers-for-exceptions for more information.\n"
        f"Original exception:\n{E.__name__}.RayTaskError: {error}\n"
    )


def test_from_bytes_rejects_foreign_payloads():
    with pytest.raises(ValueError, match="not a fusion-flow error payload"):
        E.RayError.from_bytes(pickle.dumps(("other", "", b"")))

"""fusion_flow._task_errors: task failures as payloads and back.

The expected types, texts and fallbacks were observed on Ray 2.60.0 (ray.get of tasks
raising these exceptions); where fusion-flow's text must differ (module paths, its own
frames), the test says so.
"""

import logging
import pickle
import sys
import threading

import pytest

from fusion_flow import _task_errors as T
from fusion_flow.ray_compat import exceptions as E

MOD = E.__name__  # "fusion_flow.ray_compat.exceptions"

# A stand-in for the worker: its frames are fusion-flow's own, which RayTaskError's str()
# hides, and it captures the error where it catches it, as the runtime will.
_worker_namespace = {}
exec(
    compile(
        "def execute(fn, args, capture, name, kwargs):\n"
        "    try:\n"
        "        fn(*args)\n"
        "    except BaseException as e:\n"
        "        return capture(e, name, pid=123, ip='10.0.0.1', **kwargs)\n"
        "    raise AssertionError('the task did not fail')\n",
        "/site-packages/fusion_flow/_worker.py",
        "exec",
    ),
    _worker_namespace,
)


def run_task(fn, *args, name="__main__.f", **kwargs):
    """Run fn as the worker would and return the error payload it produces."""
    return _worker_namespace["execute"](fn, args, T.capture_task_error, name, kwargs)


def without_carets(text):
    """Caret lines under source lines depend on the Python version."""
    return "\n".join(line for line in text.split("\n") if set(line.strip()) - set("^~"))


def header(name="f", pid=123, ip="10.0.0.1"):
    return f"\x1b[36mray::{name}()\x1b[39m (pid={pid}, ip={ip})"


def line_of(fn, offset):
    return fn.__code__.co_firstlineno + offset


def helper(x):
    raise ValueError(f"boom {x}")


def nested():
    return helper(3)


def fails():
    raise ValueError("boom")


def test_value_error_from_nested_helper():
    error = T.load_task_error(run_task(nested))
    assert type(error).__name__ == "RayTaskError(ValueError)"
    assert [c.__name__ for c in type(error).__mro__] == [
        "RayTaskError(ValueError)", "RayTaskError", "RayError", "ValueError", "Exception",
        "BaseException", "object",
    ]  # fmt: skip
    assert isinstance(error, ValueError) and isinstance(error, E.RayTaskError)
    assert type(error.cause) is ValueError and error.cause.args == ("boom 3",)
    assert error.args == (error.cause,)
    # Ray's layout: header, then the user's frames only, then the exception line.
    assert without_carets(str(error)) == (
        f"{header()}\n"
        f'  File "{__file__}", line {line_of(nested, 1)}, in nested\n'
        "    return helper(3)\n"
        f'  File "{__file__}", line {line_of(helper, 1)}, in helper\n'
        '    raise ValueError(f"boom {x}")\n'
        "ValueError: boom 3"
    )


def test_capture_defaults_and_fields():
    payload = run_task(fails, name="pkg.mod.f")
    plain = E.RayError.from_bytes(payload)
    assert type(plain) is E.RayTaskError
    assert (plain.function_name, plain.proctitle, plain.pid, plain.ip) == (
        "pkg.mod.f",
        "ray::f",
        123,
        "10.0.0.1",
    )
    assert plain.traceback_str.startswith("Traceback (most recent call last):\n")
    assert plain.args == ("pkg.mod.f", plain.traceback_str, plain.cause, "ray::f", 123, "10.0.0.1")
    named = E.RayError.from_bytes(run_task(fails, proctitle="ray::custom_name"))
    assert str(named).startswith(header("custom_name"))
    actor = E.RayError.from_bytes(run_task(fails, actor_repr="A()", actor_id="ab"))
    assert str(actor).startswith(
        "\x1b[36mray::f()\x1b[39m (pid=123, ip=10.0.0.1, actor_id=ab, repr=A())"
    )


def get_in_task():
    # A nested get that raises: what ray.get raises inside a task.
    raise T.load_task_error(run_task(lambda: {}["k"], name="__main__.inner"))


def test_failed_nested_get_is_not_nested():
    error = T.load_task_error(run_task(get_in_task, name="__main__.outer"))
    assert type(error).__name__ == "RayTaskError(KeyError)"
    assert type(error.cause) is KeyError
    text = str(error)
    assert text.startswith(header("outer"))
    assert f"\n{MOD}.RayTaskError(KeyError): {header('inner')}\n" in text
    assert text.endswith("KeyError: 'k'")


def test_dependency_failure():
    failed = run_task(fails)
    dependent = T.capture_dependency_error(failed, "__main__.g", pid=5, ip="10.0.0.2")
    error = T.load_task_error(dependent)
    # On Ray: a new RayTaskError for g, whose cause is f's cause.
    assert type(error).__name__ == "RayTaskError(ValueError)"
    assert type(error.cause) is ValueError and error.cause.args == ("boom",)
    f_text = str(E.RayError.from_bytes(failed))
    assert str(error) == (
        f"{header('g', 5, '10.0.0.2')}\n"
        "  At least one of the input arguments for this task could not be computed:\n"
        f"{MOD}.RayTaskError: {f_text}"
    )
    # A chain adds one header and note per level.
    again = T.capture_dependency_error(dependent, "__main__.g", pid=5, ip="10.0.0.2")
    assert str(T.load_task_error(again)) == (
        f"{header('g', 5, '10.0.0.2')}\n"
        "  At least one of the input arguments for this task could not be computed:\n"
        f"{MOD}.RayTaskError: {error}"
    )


def test_dependency_on_a_system_error():
    crashed = T.dumps_system_error(E.WorkerCrashedError())
    error = T.load_task_error(T.capture_dependency_error(crashed, "__main__.g", pid=5, ip="ip"))
    assert type(error).__name__ == "RayTaskError(WorkerCrashedError)"
    assert isinstance(error, E.WorkerCrashedError)
    assert str(error) == (
        "\x1b[36mray::g()\x1b[39m (pid=5, ip=ip)\n"
        "  At least one of the input arguments for this task could not be computed:\n"
        f"{MOD}.WorkerCrashedError: The worker died unexpectedly while executing this task. "
        "Check python-core-worker-*.log files for more information."
    )


def test_dependency_on_an_undecodable_payload():
    error = T.load_task_error(T.capture_dependency_error(b"junk", "__main__.g", pid=5, ip="ip"))
    assert type(error).__name__ == "RayTaskError(RaySystemError)"
    assert str(error.cause).startswith("System error: undecodable task error payload: ")


class HasLock(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


def raise_has_lock():
    raise HasLock("locked")


def test_unpicklable_exception(caplog):
    with caplog.at_level(logging.ERROR):
        error = T.load_task_error(run_task(raise_has_lock, name="__main__.haslock"))
    # Ray: a plain RayTaskError whose cause is a RayError describing the failure.
    assert type(error) is E.RayTaskError
    assert str(error).startswith(header("haslock"))
    assert str(error).endswith("HasLock: locked")
    assert type(error.cause) is E.RayError
    assert str(error.cause).startswith(
        f"Exception {__name__}.HasLock isn't serializable: cannot pickle '_thread.lock' "
        "object.\nOriginal exception details:\nTraceback (most recent call last):\n"
    )
    assert f"The original cause of the RayTaskError ({__name__}.HasLock) isn't serializable." in (
        caplog.text
    )


class HasLambda(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.fn = lambda: 1


def test_lambda_attribute_pickles_with_cloudpickle():
    error = T.load_task_error(run_task(lambda: (_ for _ in ()).throw(HasLambda("lam"))))
    assert type(error).__name__ == "RayTaskError(HasLambda)"
    assert error.cause.fn() == 1


class TwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a)
        self.b = b


def raise_two_args():
    raise TwoArgs("x", "y")


def test_exception_that_fails_to_unpickle():
    payload = run_task(raise_two_args, name="__main__.twoargs")
    error = T.load_task_error(payload)
    # Ray: UnserializableException carrying the RayTaskError's text.
    assert type(error) is E.UnserializableException
    assert str(error) == (
        "Failed to deserialize exception. Refer to https://docs.ray.io/en/latest/ray-core/"
        "objects/serialization.html#custom-serializers-for-exceptions for more information.\n"
        "Original exception:\n"
        f"{MOD}.RayTaskError: {header('twoargs')}\n"
        f'  File "{__file__}", line {line_of(raise_two_args, 1)}, in raise_two_args\n'
        '    raise TwoArgs("x", "y")\n'
        f"{__name__}.TwoArgs: x\n"
    )
    # A task depending on it fails with RayTaskError(UnserializableException), as on Ray.
    dependent = T.load_task_error(T.capture_dependency_error(payload, "m.g", pid=1, ip="ip"))
    assert type(dependent).__name__ == "RayTaskError(UnserializableException)"
    assert f"\n{MOD}.UnserializableException: Failed to deserialize exception." in str(dependent)


class BadReduce(Exception):
    def __reduce__(self):
        raise ValueError("no reduce for you")


def test_exception_whose_pickling_raises_other_errors():
    # Ray's worker dies on this; the caller sees WorkerCrashedError.
    error = T.load_task_error(run_task(lambda: (_ for _ in ()).throw(BadReduce("br"))))
    assert type(error) is E.WorkerCrashedError


def test_keyboard_interrupt_is_a_cancellation():
    def interrupted():
        raise KeyboardInterrupt

    error = T.load_task_error(run_task(interrupted, task_id="TaskID(ab01)"))
    assert type(error).__name__ == "RayTaskError(TaskCancelledError)"
    assert isinstance(error, E.TaskCancelledError)
    assert error.cause.task_id == "TaskID(ab01)"
    assert str(error).startswith(header())
    assert str(error).endswith(f"\n{MOD}.TaskCancelledError: Task: TaskID(ab01) was cancelled.")
    assert T.load_task_error(run_task(interrupted)).cause.task_id is None


@pytest.mark.parametrize("code", [0, 3, None])
def test_system_exit_is_a_worker_crash(code):
    # On Ray sys.exit() in a task kills the worker: retried, then WorkerCrashedError.
    error = T.load_task_error(run_task(sys.exit, code))
    assert type(error) is E.WorkerCrashedError


class MyBase(BaseException):
    pass


def test_base_exception_subclass():
    error = T.load_task_error(run_task(lambda: (_ for _ in ()).throw(MyBase("mb"))))
    assert [c.__name__ for c in type(error).__mro__] == [
        "RayTaskError(MyBase)", "RayTaskError", "RayError", "Exception", "MyBase",
        "BaseException", "object",
    ]  # fmt: skip


def test_capture_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(T.traceback, "format_exception", broken)
    assert type(T.load_task_error(run_task(fails))) is E.WorkerCrashedError


@pytest.mark.parametrize(
    "error",
    [
        E.WorkerCrashedError(),
        E.TaskCancelledError(error_message="cancelled"),
        E.ObjectLostError(object_ref_hex="ab", owner_address=None, call_site=""),
        E.GetTimeoutError("Get timed out: some object(s) not ready."),
    ],
)
def test_system_errors_round_trip(error):
    copy = T.load_task_error(T.dumps_system_error(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)


def test_unpicklable_system_error_falls_back():
    copy = T.load_task_error(T.dumps_system_error(E.RaySystemError(threading.Lock())))
    assert type(copy) is E.RaySystemError
    assert str(copy).startswith(
        f"System error: {MOD}.RaySystemError: System error: <unlocked _thread.lock"
    )


def test_plain_exception_payloads():
    copy = T.load_task_error(T.dumps_system_error(ValueError("v")))
    assert type(copy) is ValueError and copy.args == ("v",)


def test_load_task_error_never_raises():
    error = T.load_task_error(b"not a payload")
    assert type(error) is E.RaySystemError
    assert str(error).startswith("System error: undecodable task error payload: ")
    not_an_exception = pickle.dumps(("fusion-flow/error/1", "", pickle.dumps(42)))
    error = T.load_task_error(not_an_exception)
    assert str(error) == "System error: task error payload holds a int, not an exception"

"""Exceptions: the class hierarchy, task errors seen by the caller, unpicklable errors,
failed dependencies.
"""

import os
import re
import threading

import pytest
from conformance_helpers import strip_ansi

INIT_KWARGS = dict(num_cpus=2)

THIS_FILE = os.path.abspath(__file__)


class MyError(Exception):
    pass


class CustomAttributeError(Exception):
    pass


class Unpicklable(Exception):
    """Can be raised but not pickled: it holds a lock."""

    def __init__(self):
        super().__init__("holds a lock")
        self.lock = threading.Lock()


class NeedsTwoArguments(Exception):
    """Pickles fine but cannot be rebuilt: __init__ needs two arguments."""

    def __init__(self, a, b):
        super().__init__(f"{a}-{b}")


def raise_my_error(message):
    raise MyError(message)


def raise_with_pid():
    raise ValueError(f"pid={os.getpid()}")


def divide_by_zero():
    return 1 / 0


def identity(x):
    return x


def raise_with_attribute():
    error = CustomAttributeError("has attribute", 42)
    error.code = 7
    raise error


def raise_unpicklable():
    raise Unpicklable()


def raise_needs_two_arguments():
    raise NeedsTwoArguments(1, 2)


def return_a_lock():
    return threading.Lock()


# ----------------------------------------------------------------- hierarchy

HIERARCHY = [
    # (class name, the bases it must have)
    ("RayError", ("Exception",)),
    ("RayTaskError", ("RayError",)),
    ("RaySystemError", ("RayError",)),
    ("GetTimeoutError", ("RayError", "TimeoutError")),
    ("WorkerCrashedError", ("RayError",)),
    ("TaskCancelledError", ("RayError",)),
    ("RayActorError", ("RayError",)),
    ("ActorDiedError", ("RayActorError",)),
    ("ActorUnavailableError", ("RayActorError",)),
    ("ObjectLostError", ("RayError",)),
    ("ObjectFetchTimedOutError", ("ObjectLostError",)),
    ("ObjectFreedError", ("ObjectLostError",)),
    ("OwnerDiedError", ("ObjectLostError",)),
    ("ObjectReconstructionFailedError", ("ObjectLostError",)),
    ("ReferenceCountingAssertionError", ("ObjectLostError", "AssertionError")),
    ("ObjectStoreFullError", ("RayError",)),
    ("OutOfDiskError", ("RayError",)),
    ("OutOfMemoryError", ("RayError",)),
    ("NodeDiedError", ("RayError",)),
    ("LocalRayletDiedError", ("RayError",)),
    ("TaskUnschedulableError", ("RayError",)),
    ("RuntimeEnvSetupError", ("RayError",)),
    ("UnserializableException", ("RayError",)),
    ("CrossLanguageError", ("RayError",)),
]


@pytest.mark.parametrize(("name", "bases"), HIERARCHY, ids=[h[0] for h in HIERARCHY])
def test_exception_hierarchy(ray_api, name, bases):
    import builtins

    cls = getattr(ray_api.exceptions, name)
    for base_name in bases:
        base = getattr(ray_api.exceptions, base_name, None) or getattr(builtins, base_name)
        assert issubclass(cls, base), f"{name} should subclass {base_name}"
    assert issubclass(cls, Exception)
    if name != "RayError":
        assert issubclass(cls, ray_api.exceptions.RayError)


def test_exception_classes_are_distinct(ray_api):
    e = ray_api.exceptions
    assert not issubclass(e.WorkerCrashedError, e.RayTaskError)
    assert not issubclass(e.GetTimeoutError, e.RayTaskError)
    assert not issubclass(e.ObjectLostError, e.RayActorError)
    assert not issubclass(e.RayTaskError, e.RaySystemError)


def test_worker_crashed_error_message(ray_api):
    assert str(ray_api.exceptions.WorkerCrashedError()) == (
        "The worker died unexpectedly while executing this task. Check "
        "python-core-worker-*.log files for more information."
    )


# ----------------------------------------------------------------- task errors


def test_task_error_is_both_ray_task_error_and_the_user_class(ray):
    ref = ray.remote(raise_my_error).remote("boom")
    with pytest.raises(MyError) as info:
        ray.get(ref)
    error = info.value
    assert isinstance(error, ray.exceptions.RayTaskError)
    assert isinstance(error, ray.exceptions.RayError)
    assert isinstance(error, MyError)
    assert type(error).__name__ == "RayTaskError(MyError)"
    assert repr(error) == "RayTaskError(MyError)(MyError('boom'))"
    assert isinstance(error.cause, MyError)
    assert type(error.cause) is MyError
    assert error.cause.args == ("boom",)
    # The dual exception's args hold the cause.
    assert error.args == (error.cause,)


def test_builtin_exception_types(ray):
    with pytest.raises(ZeroDivisionError) as info:
        ray.get(ray.remote(divide_by_zero).remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert type(info.value).__name__ == "RayTaskError(ZeroDivisionError)"
    assert strip_ansi(str(info.value)).endswith("ZeroDivisionError: division by zero")

    @ray.remote
    def key_error():
        return {}["missing"]

    with pytest.raises(KeyError):
        ray.get(key_error.remote())


def test_user_exception_attributes_are_reachable(ray):
    with pytest.raises(CustomAttributeError) as info:
        ray.get(ray.remote(raise_with_attribute).remote())
    assert info.value.code == 7
    assert info.value.cause.args == ("has attribute", 42)


def test_task_error_str_holds_the_remote_traceback(ray):
    with pytest.raises(ValueError) as info:
        ray.get(ray.remote(raise_with_pid).remote())
    text = strip_ansi(str(info.value))
    lines = text.splitlines()
    worker_pid = int(re.search(r"pid=(\d+)'?$", lines[-1]).group(1))
    header = re.fullmatch(r"ray::raise_with_pid\(\) \(pid=(\d+), ip=(\S+)\)", lines[0])
    assert header, lines[0]
    assert int(header.group(1)) == worker_pid
    assert f'  File "{THIS_FILE}", line ' in text
    assert ", in raise_with_pid" in text
    assert 'raise ValueError(f"pid={os.getpid()}")' in text
    assert lines[-1] == f"ValueError: pid={worker_pid}"
    # Only the user's frames are shown, never the runtime's own.
    frames = [line for line in lines if line.startswith("  File ")]
    assert frames and all(THIS_FILE in frame for frame in frames)


def test_task_error_str_uses_the_task_name(ray):
    f = ray.remote(raise_my_error).options(name="custom-name")
    with pytest.raises(MyError) as info:
        ray.get(f.remote("named"))
    assert strip_ansi(str(info.value)).startswith("ray::custom-name() (pid=")


def test_task_error_in_a_nested_task(ray):
    inner = ray.remote(divide_by_zero)

    @ray.remote
    def outer():
        return ray.get(inner.remote())

    with pytest.raises(ZeroDivisionError) as info:
        ray.get(outer.remote())
    error = info.value
    assert isinstance(error, ray.exceptions.RayTaskError)
    assert isinstance(error.cause, ZeroDivisionError)
    text = strip_ansi(str(error))
    assert text.startswith("ray::outer() (pid=")
    assert "ray::divide_by_zero() (pid=" in text
    assert text.endswith("ZeroDivisionError: division by zero")


def test_failed_dependency_fails_the_dependent_task(ray):
    failed = ray.remote(divide_by_zero).remote()
    dependent = ray.remote(identity).remote(failed)
    with pytest.raises(ZeroDivisionError) as info:
        ray.get(dependent)
    error = info.value
    assert isinstance(error, ray.exceptions.RayTaskError)
    assert type(error).__name__ == "RayTaskError(ZeroDivisionError)"
    assert isinstance(error.cause, ZeroDivisionError)
    text = strip_ansi(str(error))
    assert text.startswith("ray::identity() (pid=")
    assert "At least one of the input arguments for this task could not be computed:" in text
    assert "ray::divide_by_zero() (pid=" in text
    assert text.endswith("ZeroDivisionError: division by zero")
    # Further down the chain the same error type arrives.
    with pytest.raises(ZeroDivisionError):
        ray.get(ray.remote(identity).remote(dependent))


def test_failure_nested_in_a_container_argument_is_not_raised_by_the_task(ray):
    failed = ray.remote(divide_by_zero).remote()

    @ray.remote
    def holds(refs):
        return len(refs)

    # The ref is passed through untouched; only ray.get on it raises.
    assert ray.get(holds.remote([failed])) == 1


def test_unpicklable_exception(ray):
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(ray.remote(raise_unpicklable).remote())
    error = info.value
    # It cannot become a subclass of the user's class: it is a plain RayTaskError.
    assert type(error) is ray.exceptions.RayTaskError
    assert not isinstance(error, Unpicklable)
    assert type(error.cause) is ray.exceptions.RayError
    cause_text = str(error.cause)
    assert cause_text.startswith(
        f"Exception {__name__}.Unpicklable isn't serializable: cannot pickle "
        "'_thread.lock' object.\nOriginal exception details:\n"
    )
    text = strip_ansi(str(error))
    assert text.startswith("ray::raise_unpicklable() (pid=")
    assert text.endswith("Unpicklable: holds a lock")


def test_exception_that_cannot_be_rebuilt(ray):
    with pytest.raises(ray.exceptions.UnserializableException) as info:
        ray.get(ray.remote(raise_needs_two_arguments).remote())
    error = info.value
    assert not isinstance(error, ray.exceptions.RayTaskError)
    assert not isinstance(error, NeedsTwoArguments)
    text = strip_ansi(str(error))
    assert text.startswith(
        "Failed to deserialize exception. Refer to "
        "https://docs.ray.io/en/latest/ray-core/objects/serialization.html"
        "#custom-serializers-for-exceptions for more information.\nOriginal exception:\n"
    )
    assert "NeedsTwoArguments: 1-2" in text


def test_unserializable_return_value(ray):
    with pytest.raises(TypeError) as info:
        ray.get(ray.remote(return_a_lock).remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert strip_ansi(str(info.value)).endswith("TypeError: cannot pickle '_thread.lock' object")


def test_task_error_can_be_caught_as_ray_error(ray):
    try:
        ray.get(ray.remote(raise_my_error).remote("generic"))
    except ray.exceptions.RayError as error:
        assert "generic" in str(error)
    else:
        pytest.fail("no exception")


def test_get_timeout_error_is_a_timeout_error(ray):
    @ray.remote
    def slow():
        import time

        time.sleep(2)

    ref = slow.remote()
    with pytest.raises(TimeoutError):
        ray.get(ref, timeout=0.05)
    assert ray.get(ref, timeout=60) is None

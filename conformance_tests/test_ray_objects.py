"""Objects: put, get, wait and ObjectRef."""

import asyncio
import concurrent.futures
import re
import threading
import time

import pytest
from conformance_helpers import Gate, wait_for_path

INIT_KWARGS = dict(num_cpus=2)

GET_TIMEOUT_MESSAGE = "Get timed out: some object(s) not ready."
WAIT_TYPE_PREFIX = "wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator, got "


def identity(x):
    return x


def held(gate_path, value):
    wait_for_path(gate_path)
    return value


def fails(message):
    raise ValueError(message)


class Box:
    def __init__(self, items):
        self.items = items


# ----------------------------------------------------------------- put and get


@pytest.mark.parametrize(
    "value",
    [None, 0, -7, 3.5, "text", b"\x00bytes", [1, [2, 3]], (1, "a"), {"k": [1]}, {1, 2}],
    ids=repr,
)
def test_put_get_round_trip(ray, value):
    ref = ray.put(value)
    assert isinstance(ref, ray.ObjectRef)
    assert ray.get(ref) == value
    assert type(ray.get(ref)) is type(value)


def test_put_get_user_class(ray):
    box = ray.get(ray.put(Box([1, 2])))
    assert isinstance(box, Box)
    assert box.items == [1, 2]


def test_put_takes_a_snapshot(ray):
    items = [1, 2]
    ref = ray.put(items)
    items.append(3)
    assert ray.get(ref) == [1, 2]


def test_get_returns_a_fresh_copy_each_time(ray):
    ref = ray.put([1, 2])
    first = ray.get(ref)
    first.append(99)
    assert ray.get(ref) == [1, 2]
    assert ray.get(ref) is not ray.get(ref)


def test_each_put_is_a_new_object(ray):
    a, b = ray.put(1), ray.put(1)
    assert a != b
    assert a.hex() != b.hex()


def test_put_of_an_object_ref_is_rejected(ray):
    ref = ray.put(1)
    with pytest.raises(TypeError) as info:
        ray.put(ref)
    assert str(info.value) == (
        "Calling 'put' on an ray.ObjectRef is not allowed. If you really want to do "
        "this, you can wrap the ray.ObjectRef in a list and call 'put' on it."
    )


def test_put_of_a_list_holding_a_ref(ray):
    inner = ray.put("inner")
    outer = ray.get(ray.put([inner]))
    assert isinstance(outer[0], ray.ObjectRef)
    assert outer[0] == inner
    assert ray.get(outer[0]) == "inner"


def test_put_of_an_unserializable_value(ray):
    with pytest.raises(TypeError) as info:
        ray.put(threading.Lock())
    assert str(info.value).startswith("Could not serialize the put value <unlocked _thread.lock")


def test_get_list_keeps_order_and_duplicates(ray):
    refs = [ray.put(i) for i in range(5)]
    assert ray.get(refs) == [0, 1, 2, 3, 4]
    assert ray.get([refs[3], refs[3], refs[0]]) == [3, 3, 0]
    assert ray.get([]) == []


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(1, "int"), ("abc", "str"), ((), "tuple"), ({}, "dict"), (set(), "set")],
    ids=["int", "str", "tuple", "dict", "set"],
)
def test_get_of_a_non_ref(ray, value, type_name):
    with pytest.raises(ValueError) as info:
        ray.get(value)
    assert str(info.value) == (
        f"Invalid type of object refs, <class '{type_name}'>, is given. 'object_refs' "
        "must either be an ObjectRef or a list of ObjectRefs. "
    )


def test_get_of_a_tuple_of_refs(ray):
    with pytest.raises(ValueError) as info:
        ray.get((ray.put(1),))
    assert str(info.value).startswith("Invalid type of object refs, <class 'tuple'>, is given.")


def test_get_of_a_list_holding_a_non_ref(ray):
    with pytest.raises(TypeError) as info:
        ray.get([ray.put(1), 2])
    assert str(info.value) == (
        "Attempting to call `get` on the value 2, which is not an ray.ObjectRef."
    )


def test_get_timeout(ray, tmp_path):
    gate = Gate(tmp_path)
    ref = ray.remote(held).remote(gate.path, "late")
    start = time.monotonic()
    with pytest.raises(ray.exceptions.GetTimeoutError) as info:
        ray.get(ref, timeout=0.3)
    elapsed = time.monotonic() - start
    assert 0.25 <= elapsed < 10
    assert str(info.value) == GET_TIMEOUT_MESSAGE
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(ray.exceptions.GetTimeoutError):
        ray.get([ray.put(1), ref], timeout=0.1)
    with pytest.raises(ray.exceptions.GetTimeoutError):
        ray.get(ref, timeout=0)
    gate.open()
    assert ray.get(ref, timeout=60) == "late"


def test_get_with_timeout_of_a_ready_object(ray):
    ref = ray.put("ready")
    assert ray.get(ref, timeout=0) == "ready"
    assert ray.get([ref], timeout=5) == ["ready"]


def test_get_list_raises_the_first_failure_without_waiting(ray, tmp_path):
    gate = Gate(tmp_path)
    slow = ray.remote(held).remote(gate.path, "slow")
    failing = ray.remote(fails).remote("fast failure")
    start = time.monotonic()
    try:
        with pytest.raises(ValueError) as info:
            ray.get([slow, failing], timeout=30)
        assert time.monotonic() - start < 20
        assert "fast failure" in str(info.value)
        assert not ray.wait([slow], timeout=0)[0]  # the slow one is still running
    finally:
        gate.open()
    assert ray.get(slow, timeout=60) == "slow"


# ----------------------------------------------------------------- wait


def _held_and_ready(ray, gate):
    """[held, ready, ready, held] refs; the ready ones are finished."""
    f = ray.remote(held)
    done = ray.remote(identity).remote("done")
    ray.get(done)
    return [f.remote(gate.path, 0), ray.put(1), done, f.remote(gate.path, 3)]


def test_wait_splits_in_input_order(ray, tmp_path):
    gate = Gate(tmp_path)
    refs = _held_and_ready(ray, gate)
    try:
        ready, not_ready = ray.wait(refs, num_returns=2, timeout=30)
        assert ready == [refs[1], refs[2]]
        assert not_ready == [refs[0], refs[3]]
        reversed_refs = refs[::-1]
        ready, not_ready = ray.wait(reversed_refs, num_returns=2, timeout=30)
        assert ready == [refs[2], refs[1]]
        assert not_ready == [refs[3], refs[0]]
    finally:
        gate.open()
    ready, not_ready = ray.wait(refs, num_returns=4, timeout=60)
    assert ready == refs
    assert not_ready == []


def test_wait_timeout_returns_what_is_ready(ray, tmp_path):
    gate = Gate(tmp_path)
    refs = _held_and_ready(ray, gate)
    try:
        start = time.monotonic()
        ready, not_ready = ray.wait(refs, num_returns=4, timeout=0.3)
        elapsed = time.monotonic() - start
        assert 0.25 <= elapsed < 10
        assert ready == [refs[1], refs[2]]
        assert not_ready == [refs[0], refs[3]]
        start = time.monotonic()
        ready, not_ready = ray.wait(refs, num_returns=3, timeout=0)
        assert time.monotonic() - start < 5
        assert ready == [refs[1], refs[2]]
    finally:
        gate.open()


def test_wait_default_num_returns_is_one(ray, tmp_path):
    gate = Gate(tmp_path)
    held_ref = ray.remote(held).remote(gate.path, 0)
    ready_ref = ray.put(1)
    try:
        assert ray.wait([held_ref, ready_ref]) == ([ready_ref], [held_ref])
    finally:
        gate.open()
    ready_refs = [ray.put(i) for i in range(3)]
    ready, not_ready = ray.wait(ready_refs)
    assert len(ready) == 1 and len(not_ready) == 2
    # Whatever is picked, both lists keep the input order.
    assert sorted(ready + not_ready, key=ready_refs.index) == ready_refs
    assert not_ready == [r for r in ready_refs if r not in ready]


def test_wait_blocks_until_enough_are_ready(ray, tmp_path):
    gate = Gate(tmp_path)
    held_ref = ray.remote(held).remote(gate.path, "x")
    timer = threading.Timer(0.5, gate.open)
    timer.start()
    try:
        start = time.monotonic()
        ready, not_ready = ray.wait([held_ref], num_returns=1)
        assert time.monotonic() - start >= 0.4
        assert (ready, not_ready) == ([held_ref], [])
    finally:
        timer.join()


def test_wait_fetch_local_false(ray):
    refs = [ray.put(i) for i in range(3)]
    assert ray.wait(refs, num_returns=3, fetch_local=False) == (refs, [])


def test_wait_counts_a_failed_task_as_ready(ray):
    ref = ray.remote(fails).remote("failed")
    assert ray.wait([ref], timeout=60) == ([ref], [])


def test_wait_on_an_empty_list(ray):
    assert ray.wait([]) == ([], [])


def test_wait_of_a_tuple(ray):
    with pytest.raises(TypeError) as info:
        ray.wait((ray.put(1),))
    assert str(info.value) == WAIT_TYPE_PREFIX + "<class 'tuple'>"


def test_wait_of_a_single_ref(ray):
    ref = ray.put(1)
    with pytest.raises(TypeError) as info:
        ray.wait(ref)
    assert str(info.value) == (
        WAIT_TYPE_PREFIX + f"a single ray.ObjectRef or ray.ObjectRefGenerator {ref!r}"
    )


def test_wait_of_a_list_holding_a_non_ref(ray):
    with pytest.raises(TypeError) as info:
        ray.wait([ray.put(1), 2])
    assert str(info.value) == WAIT_TYPE_PREFIX + "list containing <class 'int'>"


def test_wait_with_duplicates(ray):
    ref = ray.put(1)
    with pytest.raises(ValueError) as info:
        ray.wait([ref, ref])
    assert str(info.value) == "Wait requires a list of unique ray_waitables."


def test_wait_num_returns_larger_than_the_list(ray):
    with pytest.raises(ValueError) as info:
        ray.wait([ray.put(1)], num_returns=2)
    assert str(info.value) == (
        "num_returns cannot be greater than the number of ray_waitables provided to ray.wait."
    )


@pytest.mark.parametrize("num_returns", [0, -1])
def test_wait_num_returns_not_positive(ray, num_returns):
    with pytest.raises(ValueError) as info:
        ray.wait([ray.put(1)], num_returns=num_returns)
    assert str(info.value) == f"Invalid number of objects to return {num_returns}."


def test_wait_negative_timeout(ray):
    with pytest.raises(ValueError) as info:
        ray.wait([ray.put(1)], timeout=-1)
    assert str(info.value) == "The 'timeout' argument must be nonnegative. Received -1"


# ----------------------------------------------------------------- ObjectRef


def test_object_ref_hex_and_repr(ray):
    ref = ray.put(1)
    assert re.fullmatch(r"[0-9a-f]{56}", ref.hex())
    assert repr(ref) == f"ObjectRef({ref.hex()})"
    assert str(ref) == repr(ref)
    assert len(ref.binary()) == 28
    assert ref.binary() == bytes.fromhex(ref.hex())
    task_ref = ray.remote(identity).remote(1)
    assert re.fullmatch(r"ObjectRef\([0-9a-f]{56}\)", repr(task_ref))


def test_object_ref_equality_and_hash(ray):
    a = ray.put("a")
    b = ray.put("a")
    (a_again,) = ray.get(ray.remote(identity).remote([a]))
    assert a_again == a
    assert hash(a_again) == hash(a)
    assert a != b
    assert not (a == b)
    assert a != a.hex()
    assert (a == 1) is False
    assert len({a, a_again, b}) == 2
    assert {a: "x"}[a_again] == "x"


def test_refs_nested_in_arguments_stay_refs(ray):
    inner = ray.put(41)

    @ray.remote
    def inspect(top, nested_list, nested_dict, keyword=None):
        return (
            type(top).__name__,
            type(nested_list[0]).__name__,
            type(nested_dict["k"]).__name__,
            type(keyword).__name__,
            ray.get(nested_list[0]) + 1,
        )

    result = ray.get(inspect.remote(inner, [inner], {"k": inner}, keyword=inner))
    assert result == ("int", "ObjectRef", "ObjectRef", "int", 42)


def test_refs_nested_in_return_values_stay_refs(ray):
    @ray.remote
    def make():
        return [ray.put("made inside")], ray.put("bare")

    listed, bare = ray.get(make.remote())
    assert isinstance(listed[0], ray.ObjectRef)
    assert isinstance(bare, ray.ObjectRef)
    # The objects outlive the task that created them.
    assert ray.get(listed[0]) == "made inside"
    assert ray.get(bare) == "bare"


def test_returning_a_task_ref_from_a_task(ray):
    @ray.remote
    def outer():
        return ray.remote(identity).remote("deep")

    inner = ray.get(outer.remote())
    assert isinstance(inner, ray.ObjectRef)
    assert ray.get(inner) == "deep"


def test_object_ref_future(ray, tmp_path):
    gate = Gate(tmp_path)
    ref = ray.remote(held).remote(gate.path, "from future")
    future = ref.future()
    assert isinstance(future, concurrent.futures.Future)
    gate.open()
    assert future.result(timeout=60) == "from future"
    assert ray.put(5).future().result(timeout=60) == 5


def test_object_ref_future_of_a_failure(ray):
    future = ray.remote(fails).remote("future failure").future()
    error = future.exception(timeout=60)
    assert isinstance(error, ray.exceptions.RayTaskError)
    assert isinstance(error, ValueError)
    with pytest.raises(ValueError):
        future.result()


def test_await_object_ref(ray, tmp_path):
    gate = Gate(tmp_path)
    ref = ray.remote(held).remote(gate.path, "awaited")

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, gate.open)
        first = await ref
        second = await ray.put("put")
        results = await asyncio.gather(*[ray.remote(identity).remote(i) for i in range(3)])
        return first, second, results

    assert asyncio.run(main()) == ("awaited", "put", [0, 1, 2])


def test_await_object_ref_of_a_failure(ray):
    async def main():
        return await ray.remote(fails).remote("awaited failure")

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        asyncio.run(main())
    assert isinstance(info.value, ValueError)
    assert "awaited failure" in str(info.value)

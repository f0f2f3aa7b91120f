"""Streaming generators: refs as values are yielded, and ray.wait on a generator (ready once
its next item exists, or once its stream has ended)."""

import time

INIT_KWARGS = dict(num_cpus=2)


def test_streaming_generator(ray):
    @ray.remote(num_returns="streaming")
    def count(n):
        # Not `yield from range(n)`: Ray's generator machinery calls .send() on
        # the delegated iterator and a range iterator has none.
        for i in range(n):  # noqa: UP028
            yield i

    generator = count.remote(3)
    assert [ray.get(ref) for ref in generator] == [0, 1, 2]
    assert issubclass(ray.exceptions.ObjectRefStreamEndOfStreamError, ray.exceptions.RayError)


def test_wait_on_a_generator_is_ready_when_its_next_item_is(ray):
    @ray.remote
    def slow(n, delay):
        for i in range(n):
            time.sleep(delay)
            yield i

    generator = slow.remote(2, 1.0)
    ready, pending = ray.wait([generator], timeout=0.1)
    assert (ready, pending) == ([], [generator])
    ready, pending = ray.wait([generator], timeout=60)
    assert ready == [generator] and ready[0] is generator and pending == []
    assert ray.get(next(generator), timeout=60) == 0
    # The next item is a second away: not ready at once, ready once it is yielded.
    assert ray.wait([generator], timeout=0)[0] == []
    assert ray.wait([generator], timeout=60)[0] == [generator]
    assert ray.get(next(generator), timeout=60) == 1
    # An exhausted generator is ready (its end is there).
    assert ray.wait([generator], timeout=60)[0] == [generator]
    assert list(generator) == []


def test_wait_mixes_generators_and_refs_in_input_order(ray):
    @ray.remote
    def numbers(n):
        for i in range(n):  # noqa: UP028 (see test_streaming_generator)
            yield i

    @ray.remote
    def value():
        return "v"

    generator = numbers.remote(1)
    ref = value.remote()
    ready, pending = ray.wait([generator, ref], num_returns=2, timeout=60)
    assert ready == [generator, ref] and pending == []
    assert ray.get(next(generator), timeout=60) == 0
    assert ray.get(ref, timeout=60) == "v"


def test_wait_on_a_generator_from_inside_a_task(ray):
    @ray.remote
    def numbers(n):
        for i in range(n):  # noqa: UP028 (see test_streaming_generator)
            yield i

    @ray.remote
    def consume(n):
        generator = numbers.remote(n)
        seen = []
        while len(seen) < n:
            ready, _ = ray.wait([generator], timeout=60)
            assert ready == [generator]
            seen.append(ray.get(next(generator)))
        return seen

    assert ray.get(consume.remote(3), timeout=60) == [0, 1, 2]

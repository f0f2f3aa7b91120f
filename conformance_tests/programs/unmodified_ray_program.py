"""A plain Ray program, never edited for fusion-flow: the conformance suite runs it with
``python`` on Ray and with ``fusion-flow run`` on fusion-flow, and expects the same output."""

import asyncio
import sys

import ray
from ray.exceptions import GetTimeoutError, RayTaskError
from ray.util import ActorPool
from ray.util.queue import Queue


@ray.remote
def square(x):
    return x * x


@ray.remote
def total_of_squares(n):
    return sum(ray.get([square.remote(i) for i in range(n)]))


@ray.remote
def fail():
    raise KeyError("missing")


@ray.remote
class Counter:
    def __init__(self, start):
        self.value = start

    def add(self, amount):
        self.value += amount
        return self.value


@ray.remote
class AsyncEcho:
    async def echo(self, value):
        await asyncio.sleep(0)
        return value


@ray.remote
def stream(n):
    for i in range(n):
        yield i * 10


def main():
    ray.init(num_cpus=2)
    print("args", sys.argv[1:])
    print("squares", ray.get([square.remote(i) for i in range(5)]))
    print("nested", ray.get(total_of_squares.remote(10)))
    try:
        ray.get(fail.remote())
    except RayTaskError as error:
        print("error", isinstance(error, KeyError), type(error).__name__)
    counter = Counter.options(name="counter").remote(100)
    print("actor", ray.get([counter.add.remote(1) for _ in range(3)]))
    print("named", ray.get(ray.get_actor("counter").add.remote(10)))
    print("async actor", ray.get(AsyncEcho.remote().echo.remote("hi")))
    print("stream", [ray.get(ref) for ref in stream.remote(4)])
    pool = ActorPool([AsyncEcho.remote(), AsyncEcho.remote()])
    print("pool", list(pool.map(lambda actor, v: actor.echo.remote(v * 2), [1, 2, 3, 4])))
    queue = Queue()
    queue.put_nowait_batch([1, 2, 3])
    print("queue", queue.get_nowait_batch(3))
    ref = ray.put({"k": [1, 2]})
    ready, pending = ray.wait([ref, square.remote(3)], num_returns=2, timeout=60)
    print("wait", len(ready), len(pending), ray.get(ref))
    try:
        ray.get(ray.remote(lambda: __import__("time").sleep(30)).remote(), timeout=0.1)
    except GetTimeoutError:
        print("timeout", "GetTimeoutError")
    print("resources", ray.cluster_resources()["CPU"])
    ray.shutdown()
    print("initialized", ray.is_initialized())


if __name__ == "__main__":
    main()

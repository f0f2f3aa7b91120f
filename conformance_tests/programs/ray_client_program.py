"""A plain Ray program using the Ray Client through ``ray_start_client_server``, never edited
for fusion-flow: run with ``python`` on Ray and with ``fusion-flow run`` on fusion-flow, it
prints the same."""

import numpy as np
import ray
from ray._private.client_mode_hook import disable_client_hook
from ray.exceptions import GetTimeoutError, RayTaskError
from ray.util.client import ray as client_api
from ray.util.client.ray_client_helpers import ray_start_client_server


@ray.remote
def square(x):
    return x * x


def main():
    print("connected before", client_api.is_connected(), ray.is_initialized())
    with ray_start_client_server() as client:
        print("connected", client.is_connected(), ray.is_initialized())
        with disable_client_hook():
            print("server driver running", ray.is_initialized())

        print("put", client.get(client.put({"k": [1, 2]})))
        # Defined before connecting, called through the client: the whole `ray` API goes
        # through the connection while it is up.
        print("squares", ray.get([square.remote(i) for i in range(5)]))

        @client.remote
        def add(a, b):
            return a + b

        @client.remote
        def put_inside():
            return client.get(client.put(7))

        print("chained", client.get(add.remote(add.remote(1, 2), 3)))
        print("task uses the api", client.get(put_inside.remote()))

        @client.remote
        def fail():
            raise KeyError("missing")

        try:
            client.get(fail.remote())
        except RayTaskError as error:
            print("error", isinstance(error, KeyError), type(error).__name__)

        @client.remote
        class Counter:
            def __init__(self, start):
                self.value = start

            def add(self, amount):
                self.value += amount
                return self.value

        counter = Counter.options(name="counter").remote(100)
        print("actor", client.get([counter.add.remote(i) for i in (1, 2, 3)]))
        print("named", client.get(client.get_actor("counter").add.remote(10)))

        @client.remote
        def slow():
            import time

            time.sleep(30)

        ready, pending = client.wait([add.remote(1, 1), slow.remote()], num_returns=1)
        print("wait", len(ready), len(pending), client.get(ready[0]))
        try:
            client.get(pending[0], timeout=0.1)
        except GetTimeoutError:
            print("timeout GetTimeoutError")

        array = np.arange(1_000_000, dtype=np.int64)
        print("array", int(client.get(client.put(array)).sum()))
    print("connected after", client_api.is_connected(), ray.is_initialized())

    # ray.shutdown() in client mode ends the connection, and the server's driver with it.
    with ray_start_client_server():
        ray.shutdown()
        print("initialized after shutdown", ray.is_initialized())
        with disable_client_hook():
            print("server driver after shutdown", ray.is_initialized())


if __name__ == "__main__":
    main()

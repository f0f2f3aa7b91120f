"""Worker processes end with the session: ``python shutdown_driver.py <backend> <mode>``.

mode "shutdown": call shutdown() on command, report, then wait for stdin to close.
mode "exit": leave the interpreter without calling shutdown() when stdin closes.
"""

import os
import sys
import tempfile
import time

from driver_common import backend_module, report, wait_for_command

ray = backend_module(sys.argv[1])
mode = sys.argv[2]
ray.init(num_cpus=2)


@ray.remote
def pid_in_barrier(directory, parties):
    open(os.path.join(directory, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 30
    while len(os.listdir(directory)) < parties and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid()


directory = tempfile.mkdtemp()
report(worker_pids=ray.get([pid_in_barrier.remote(directory, 2) for _ in range(2)]))

if mode == "shutdown":
    wait_for_command()
    ray.shutdown()
    ray.shutdown()  # idempotent
    report(shutdown=True, initialized=ray.is_initialized())
    wait_for_command()
else:
    wait_for_command()
# Interpreter exit: the runtime must clean up after itself.

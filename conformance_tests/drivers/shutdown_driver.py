"""Worker processes end with the session: ``python shutdown_driver.py <backend> <mode>``.

mode "shutdown": call shutdown() on command, report, then wait for stdin to close.
mode "exit": leave the interpreter without calling shutdown() when stdin closes.
mode "busy": like "shutdown", with a long task running and more queued behind it; reports
how long shutdown() took and which of the tasks' files exist afterwards.
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


@ray.remote(num_cpus=2)
def long_task(started, finished):
    open(started, "w").close()
    time.sleep(60)
    open(finished, "w").close()


@ray.remote
def queued_task(path):
    open(path, "w").close()


if mode == "busy":
    files = {name: os.path.join(directory, name) for name in ("started", "finished", "queued")}
    long_task.remote(files["started"], files["finished"])
    queued = [queued_task.remote(files["queued"]) for _ in range(4)]
    while not os.path.exists(files["started"]):
        time.sleep(0.01)
    report(running=True)
    wait_for_command()
    began = time.monotonic()
    ray.shutdown()
    took = time.monotonic() - began
    time.sleep(1.0)
    report(
        shutdown_seconds=took,
        initialized=ray.is_initialized(),
        exist=sorted(name for name, path in files.items() if os.path.exists(path)),
    )
    wait_for_command()
elif mode == "shutdown":
    wait_for_command()
    ray.shutdown()
    ray.shutdown()  # idempotent
    report(shutdown=True, initialized=ray.is_initialized())
    wait_for_command()
else:
    wait_for_command()
# Interpreter exit: the runtime must clean up after itself.

"""Process faults seen from a driver: ``python faults_driver.py <backend> <mode> <dir>``.

mode "ctrl_c": block in get on a task that never ends; on SIGINT report the
KeyboardInterrupt, then show the runtime still runs tasks.
mode "killed": start workers, report their pids, then wait to be SIGKILLed.
"""

import os
import signal
import sys
import time

from driver_common import backend_module, report, wait_for_command

# A user's terminal starts programs with Ctrl-C enabled; a background job may not.
signal.signal(signal.SIGINT, signal.default_int_handler)

ray = backend_module(sys.argv[1])
mode, directory = sys.argv[2], sys.argv[3]
ray.init(num_cpus=2)


@ray.remote
def pid_in_barrier(parties):
    open(os.path.join(directory, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 30
    while len(os.listdir(directory)) < parties and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid()


@ray.remote
def forever(started):
    open(started, "w").close()
    time.sleep(600)


@ray.remote
def double(x):
    return 2 * x


report(worker_pids=ray.get([pid_in_barrier.remote(2) for _ in range(2)], timeout=120))

if mode == "ctrl_c":
    started = os.path.join(directory, "started")
    ref = forever.remote(started)
    while not os.path.exists(started):
        time.sleep(0.01)
    report(blocking=True)
    try:
        ray.get(ref)
    except KeyboardInterrupt:
        report(interrupted=True)
    report(after=ray.get([double.remote(i) for i in range(5)], timeout=60))
    wait_for_command()
    ray.shutdown()
else:
    wait_for_command()

"""Worker output reaching the driver: ``python output_driver.py <backend> <log_to_driver>``.

Functions are defined in ``__main__`` on purpose (they are pickled by value).
"""

import os
import sys
import tempfile
import time

from driver_common import backend_module, report, wait_for_command
from script_dir_module import triple

ray = backend_module(sys.argv[1])
log_to_driver = sys.argv[2] == "1"
ray.init(num_cpus=3, log_to_driver=log_to_driver)


@ray.remote
def hello(i):
    print(f"conformance-stdout {i}")
    print(f"conformance-stderr {i}", file=sys.stderr)
    return os.getpid()


@ray.remote(name="renamed_task")
def named():
    print("conformance-named")
    return os.getpid()


@ray.remote
def repeated(directory, parties):
    # Every party prints the same line once, all at about the same time.
    os.makedirs(directory, exist_ok=True)
    open(os.path.join(directory, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 30
    while len(os.listdir(directory)) < parties and time.monotonic() < deadline:
        time.sleep(0.02)
    print("conformance-repeated-line")
    return os.getpid()


@ray.remote
def multi_line():
    print("conformance-first\nconformance-second")
    return os.getpid()


hello_pids = ray.get([hello.remote(i) for i in range(2)])
named_pid = ray.get(named.remote())
option_named_pid = ray.get(named.options(name="option_name").remote())
multi_pid = ray.get(multi_line.remote())
barrier_directory = tempfile.mkdtemp()
repeated_pids = ray.get([repeated.remote(barrier_directory, 3) for _ in range(3)])
script_dir_value = ray.get(ray.remote(triple).remote(14))

cwd_value = None
if len(sys.argv) > 3:
    # A module in the driver's working directory is importable by workers too.
    sys.path.insert(0, os.getcwd())
    cwd_module = __import__(sys.argv[3])
    cwd_value = ray.get(ray.remote(cwd_module.value).remote())

report(
    hello_pids=hello_pids,
    named_pid=named_pid,
    option_named_pid=option_named_pid,
    multi_pid=multi_pid,
    repeated_pids=repeated_pids,
    script_dir_value=script_dir_value,
    cwd_value=cwd_value,
)

# An infeasible task (3 CPUs on the node) stays pending; Ray prints a warning.
infeasible = ray.remote(lambda: 0).options(num_cpus=4).remote()
ready, not_ready = ray.wait([infeasible], timeout=0.5)
report(infeasible_ready=len(ready), infeasible_not_ready=len(not_ready))

wait_for_command()
ray.shutdown()
print("conformance-driver-done", flush=True)

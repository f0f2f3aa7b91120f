"""The chaos workload: many tasks that retry forever (some nested) and an actor that restarts
forever, while a killer SIGKILLs a random worker every so often. Every result must come back
correct, exactly once; afterwards every CPU is free again and no worker outlives shutdown.

The same calls run on either backend (``api`` is ``ray`` or ``fusion_flow.ray_compat``). Each
worker process that runs our code leaves its pid in a directory, which is how the killer finds
its victims on both backends alike.

    python -m benchmarks.workloads.chaos --backend fusion_flow --tasks 10000
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

NESTED_EVERY = 10  # every tenth task submits two children and sums them


def _record_pid(pid_dir: str) -> None:
    """Leaves this process's pid and start time: a pid alone may be reused by then."""
    path = os.path.join(pid_dir, str(os.getpid()))
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(str(_start_time(os.getpid())))


def _start_time(pid: int) -> Optional[int]:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19]) if fields[0] != "Z" else None


def _recorded(pid_dir: str) -> Dict[int, int]:
    """pid -> start time of every process that ran our code."""
    found = {}
    for name in os.listdir(pid_dir):
        try:
            with open(os.path.join(pid_dir, name)) as f:
                found[int(name)] = int(f.read())
        except (OSError, ValueError):
            pass  # being written
    return found


def _still_ours(pid: int, started: int) -> bool:
    """The process that recorded itself is still alive (not a newer one with its pid)."""
    return _start_time(pid) == started


def square(x: int, pid_dir: str) -> int:
    _record_pid(pid_dir)
    time.sleep(0.001)
    return x * x


def nested(square_remote: Any, x: int, pid_dir: str, api_module: str) -> int:
    """Submits two children and sums them (``api_module`` is the backend's API module)."""
    _record_pid(pid_dir)
    api = importlib.import_module(api_module)
    children = [square_remote.remote(x * 10 + j, pid_dir) for j in range(2)]
    return sum(api.get(children))


class Doubler:
    def double(self, x: int, pid_dir: str) -> int:
        _record_pid(pid_dir)
        time.sleep(0.001)
        return 2 * x


def expected_task_value(i: int) -> int:
    if i % NESTED_EVERY == 0:
        return (i * 10) ** 2 + (i * 10 + 1) ** 2
    return i * i


@dataclass
class Outcome:
    tasks: int
    actor_calls: int
    killer: bool
    seconds: float = 0.0
    kills: int = 0
    wrong: int = 0
    resources_back: bool = False
    orphans: List[int] = field(default_factory=list)
    workers_seen: int = 0

    @property
    def passed(self) -> bool:
        return self.wrong == 0 and self.resources_back and not self.orphans


class Killer:
    """SIGKILLs a random live worker (one that recorded its pid) every ``every`` seconds."""

    def __init__(self, pid_dir: str, every: float, seed: int) -> None:
        self.pid_dir = pid_dir
        self.every = every
        self.random = random.Random(seed)
        self.kills = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-killer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            live = [
                pid
                for pid, started in _recorded(self.pid_dir).items()
                if pid != os.getpid() and _still_ours(pid, started)
            ]
            if not live:
                continue
            victim = self.random.choice(live)
            # pidfd: the signal reaches that very process, never one that reused its pid.
            try:
                fd = os.pidfd_open(victim)
            except ProcessLookupError:
                continue
            try:
                if _still_ours(victim, _recorded(self.pid_dir).get(victim, -1)):
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                    self.kills += 1
            except ProcessLookupError:
                pass
            finally:
                os.close(fd)


def run(
    api: Any,
    *,
    tasks: int,
    actor_calls: int,
    killer: bool,
    kill_every: float = 0.2,
    seed: int = 7,
    num_cpus: int = 2,
) -> Outcome:
    """Runs the workload on a fresh runtime (initialised and shut down here)."""
    outcome = Outcome(tasks=tasks, actor_calls=actor_calls, killer=killer)
    pid_dir = tempfile.mkdtemp(prefix="chaos-pids-")
    api.init(num_cpus=num_cpus)
    try:
        remote_square = api.remote(max_retries=-1)(square)
        remote_nested = api.remote(max_retries=-1)(nested)
        actor = api.remote(max_restarts=-1, max_task_retries=-1)(Doubler).remote()
        the_killer = Killer(pid_dir, kill_every, seed) if killer else None
        start = time.perf_counter()
        if the_killer is not None:
            the_killer.start()
        try:
            task_refs = [
                remote_nested.remote(remote_square, i, pid_dir, api.__name__)
                if i % NESTED_EVERY == 0
                else remote_square.remote(i, pid_dir)
                for i in range(tasks)
            ]
            call_refs = [actor.double.remote(i, pid_dir) for i in range(actor_calls)]
            task_values = api.get(task_refs, timeout=1800)
            call_values = api.get(call_refs, timeout=1800)
        finally:
            if the_killer is not None:
                the_killer.stop()
                outcome.kills = the_killer.kills
        outcome.seconds = time.perf_counter() - start
        outcome.wrong = sum(
            value != expected_task_value(i) for i, value in enumerate(task_values)
        ) + sum(value != 2 * i for i, value in enumerate(call_values))
        outcome.wrong += abs(len(task_values) - tasks) + abs(len(call_values) - actor_calls)
        del task_refs, call_refs, actor
        outcome.resources_back = _wait_for_free_cpus(api)
    finally:
        api.shutdown()
    recorded = _recorded(pid_dir)
    outcome.workers_seen = len(recorded)

    def left() -> List[int]:
        return [pid for pid, started in recorded.items() if _still_ours(pid, started)]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and left():
        time.sleep(0.1)
    outcome.orphans = left()
    return outcome


def _wait_for_free_cpus(api: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        total = api.cluster_resources().get("CPU")
        if api.available_resources().get("CPU") == total:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["ray", "fusion_flow"], required=True)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--actor-calls", type=int, default=1_000)
    parser.add_argument("--no-killer", action="store_true")
    parser.add_argument("--kill-every", type=float, default=0.2)
    args = parser.parse_args()
    if args.backend == "ray":
        import ray as api
    else:
        import fusion_flow.ray_compat as api
    outcome = run(
        api,
        tasks=args.tasks,
        actor_calls=args.actor_calls,
        killer=not args.no_killer,
        kill_every=args.kill_every,
    )
    report: Dict[str, Any] = asdict(outcome)
    report["passed"] = outcome.passed
    print("@@" + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()

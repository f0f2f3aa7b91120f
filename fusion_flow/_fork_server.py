"""The fork server: imports what a worker needs once, then forks workers on the node's request.

The node starts this process (see ``_runtime._FORK_SERVER_BOOTSTRAP``) with its control socket
on descriptor 3; the protocol and the reasons are in ``native/ff-runtime/src/node/fork_server.rs``.
The process stays single-threaded, since only the forking thread survives a fork: it waits
on the control socket and on a wake-up pipe written on SIGCHLD, forks on request, reaps its
children and reports every start and exit.
"""

from __future__ import annotations

import gc
import json
import os
import selectors
import signal
import socket
import sys
from typing import Any, Callable, Dict, List, Optional, Set

CONTROL_FD = 3
MAX_REQUEST = 1 << 20  # a fork request carries an environment: far below this
OUTPUT_FDS = 2  # the new worker's stdout and stderr


def main() -> None:
    """``argv[2]``: how many workers the node prestarts. Those are forked as soon as the
    worker's own modules are in (the first task waits for them); the rest of the preload
    follows before any later fork."""
    control = socket.socket(fileno=CONTROL_FD)
    control.setblocking(True)
    prestarted = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    _preload_worker()
    try:
        ForkServer(control).serve(early_forks=prestarted, finish_preload=_preload_rest)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the node went away mid-reply (shutdown): its workers end with this process


def _preload_worker() -> None:
    """What every worker imports."""
    import fusion_flow._worker  # noqa: F401

    _freeze()


def _preload_rest() -> None:
    """What actors and most user code import: about as long again as the worker's own
    imports. A prestarted worker that needs these imports them itself."""
    import asyncio  # noqa: F401  (async actors)

    import fusion_flow._actor_host
    import fusion_flow._task_errors
    import fusion_flow.ray_compat  # noqa: F401

    _freeze()


def _freeze() -> None:
    """Moves the objects made so far out of the collector's reach: a collection in a worker
    would otherwise write to (and so copy) every page holding them."""
    gc.collect()
    gc.freeze()


class ForkServer:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: Set[int] = set()
        self.forks = 0
        self.wakeup_read, self.wakeup_write = os.pipe()
        os.set_blocking(self.wakeup_read, False)
        os.set_blocking(self.wakeup_write, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self.wakeup_write)

    def serve(self, early_forks: int, finish_preload: Callable[[], None]) -> None:
        """Runs until the node closes the control socket (or goes). ``finish_preload`` runs
        after the first ``early_forks`` forks, or before that once nothing is waiting."""
        selector = selectors.DefaultSelector()
        selector.register(self.control, selectors.EVENT_READ)
        selector.register(self.wakeup_read, selectors.EVENT_READ)
        self.reap()  # a child may have ended before the handler was in place
        preload: Optional[Callable[[], None]] = finish_preload
        while True:
            if preload is not None and (self.forks >= early_forks or not selector.select(0)):
                preload()
                preload = None
            for key, _ in selector.select():
                if key.fd == self.wakeup_read:
                    _drain(self.wakeup_read)
                    self.reap()
                    continue
                message, fds, _, _ = socket.recv_fds(self.control, MAX_REQUEST, OUTPUT_FDS)
                if not message:
                    return
                self.handle(json.loads(message), fds)

    def handle(self, request: Dict[str, Any], fds: List[int]) -> None:
        op = request.get("op")
        if op == "fork":
            self.fork(request, fds)
        elif op == "kill":
            pid = request["pid"]
            if pid in self.children:  # not reaped, so the pid is still this child's
                os.kill(pid, signal.SIGKILL)
        for fd in fds:  # a fork passes its descriptors on; nothing else keeps any
            os.close(fd)

    def fork(self, request: Dict[str, Any], fds: List[int]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            self.send({"event": "failed", "worker": request["worker"], "error": str(error)})
            return
        if pid == 0:
            self.become_worker(request, fds)  # never returns
        self.forks += 1
        self.children.add(pid)
        self.send({"event": "started", "worker": request["worker"], "pid": pid})

    def become_worker(self, request: Dict[str, Any], fds: List[int]) -> None:
        """In the new child: drop the fork server's state, take the worker's, run the worker."""
        code = 1
        try:
            parent = os.getppid()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(self.wakeup_read)
            os.close(self.wakeup_write)
            self.control.close()
            from fusion_flow import _native

            _native.die_with_parent(parent)
            os.setpgid(0, 0)  # as a worker the node starts: Ctrl-C reaches only the driver
            _redirect_output(fds if request.get("outputs") else None)
            os.environ.update(dict(request["env"]))
            from fusion_flow._worker import main as worker_main

            worker_main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            _exit_worker(code)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            event: Dict[str, Any] = {"event": "exited", "pid": pid, "code": None, "signal": None}
            if os.WIFSIGNALED(status):
                event["signal"] = os.WTERMSIG(status)
            else:
                event["code"] = os.waitstatus_to_exitcode(status)
            self.send(event)

    def send(self, event: Dict[str, Any]) -> None:
        self.control.send(json.dumps(event).encode())


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _redirect_output(fds: Any) -> None:
    if fds:
        stdout, stderr = fds
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.close(stdout)
        os.close(stderr)
    else:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)


def _exit_worker(code: int) -> None:
    """Ends the forked worker as an interpreter exit would, without unwinding into the fork
    server's frames."""
    import atexit

    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


if __name__ == "__main__":
    main()

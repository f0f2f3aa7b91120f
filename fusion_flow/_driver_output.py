"""What the driver shows of its workers, the way Ray shows it.

Each line a worker prints appears on the driver's stream of the same name behind a cyan
``(task_name pid=N)`` prefix. When several workers print the same line (ignoring words with
digits in them) within a few seconds, the first is shown at once and the rest are folded into
one ``[repeated Nx across cluster]`` line when the window closes or the runtime shuts down.
A task that no node can ever run is reported once, on stdout, as Ray's autoscaler reports it.

``RAY_COLOR_PREFIX=0`` turns the colours off and ``RAY_DEDUP_LOGS=0`` the folding, as in Ray.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional, Set, Tuple

CYAN = "\x1b[36m"
YELLOW = "\x1b[33m"
GREEN = "\x1b[32m"
RESET = "\x1b[0m"

STDOUT = 1
DEDUP_WINDOW_SECONDS = 5.0
_VARYING = re.compile(r"\d+|0x[0-9a-fA-F]+")
_FOLDING_EXPLAINED = (
    " (repeated lines from several workers are folded into one; "
    "set RAY_DEDUP_LOGS=0 to show every line)"
)


def dedup_key(text: str) -> str:
    """The line without the words that vary between workers (ids, counters, addresses)."""
    return " ".join(word for word in text.split() if not _VARYING.search(word))


def elapsed_label(seconds: float) -> str:
    """Ray's short elapsed time: 5s, 2m5s, 1h2m5s."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


@dataclass
class _Repeats:
    """One line seen from one worker, and copies of it from others that are held back."""

    opened: float
    sources: Set[int]
    held: int = 0
    latest: Tuple[Optional[str], int, str] = ("", 0, "")


@dataclass
class DriverOutput:
    """Formats and prints driver events (see ``_native.Session.next_events``)."""

    started_at: float
    color: bool = field(default_factory=lambda: os.environ.get("RAY_COLOR_PREFIX") != "0")
    dedup: bool = field(default_factory=lambda: os.environ.get("RAY_DEDUP_LOGS") != "0")
    _repeats: Dict[Tuple[int, str], _Repeats] = field(default_factory=dict)
    _explained: bool = False

    def handle(self, events: Iterable[tuple], now: Optional[float] = None) -> None:
        now = time.monotonic() if now is None else now
        for event in events:
            if event[0] == "output":
                _, stream, pid, task_name, text = event
                self._output(stream, pid, task_name, text, now)
            elif event[0] == "infeasible":
                self._infeasible(event[2], now)
        self.close_windows(now)

    def close_windows(self, now: float) -> None:
        """Prints the folded lines of every window that has closed by ``now``."""
        for key, repeats in list(self._repeats.items()):
            if now - repeats.opened >= DEDUP_WINDOW_SECONDS:
                del self._repeats[key]
                self._print_folded(key[0], repeats)

    def flush(self) -> None:
        """Prints every folded line still held (the runtime is shutting down)."""
        for (stream, _), repeats in self._repeats.items():
            self._print_folded(stream, repeats)
        self._repeats.clear()

    def _output(self, stream: int, pid: int, task_name: Optional[str], text: str, now: float):
        if not self.dedup:
            self._print(stream, self._prefixed(task_name, pid, text))
            return
        key = (stream, dedup_key(text))
        repeats = self._repeats.get(key)
        if repeats is not None and now - repeats.opened >= DEDUP_WINDOW_SECONDS:
            del self._repeats[key]
            self._print_folded(stream, repeats)
            repeats = None
        if repeats is None:
            self._repeats[key] = _Repeats(opened=now, sources={pid})
            self._print(stream, self._prefixed(task_name, pid, text))
        elif pid in repeats.sources:
            self._print(stream, self._prefixed(task_name, pid, text))
        else:
            repeats.held += 1
            repeats.latest = (task_name, pid, text)

    def _print_folded(self, stream: int, repeats: _Repeats) -> None:
        task_name, pid, text = repeats.latest
        if repeats.held == 0:
            return
        line = self._prefixed(task_name, pid, text)
        if repeats.held > 1:
            note = "" if self._explained else _FOLDING_EXPLAINED
            self._explained = True
            line += self._paint(GREEN, f" [repeated {repeats.held}x across cluster]{note}")
        self._print(stream, line)

    def _infeasible(self, request: Dict[str, float], now: float) -> None:
        label = self._paint(YELLOW, f"(autoscaler +{elapsed_label(now - self.started_at)})")
        self._print(
            STDOUT,
            f"{label} Error: No available node types can fulfill resource request "
            f"{request}. Add suitable node types to this cluster to resolve this issue.",
        )

    def _prefixed(self, task_name: Optional[str], pid: int, text: str) -> str:
        source = f"({task_name} pid={pid})" if task_name else f"(pid={pid})"
        return f"{self._paint(CYAN, source)} {text}"

    def _paint(self, color: str, text: str) -> str:
        return f"{color}{text}{RESET}" if self.color else text

    @staticmethod
    def _print(stream: int, line: str) -> None:
        target = sys.stdout if stream == STDOUT else sys.stderr
        try:
            print(line, file=target, flush=True)
        except (ValueError, OSError):
            pass  # the stream is closed (interpreter teardown)

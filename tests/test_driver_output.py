"""Worker output on the driver: prefixes, folding of repeated lines, notices."""

import pytest

from fusion_flow._driver_output import (
    CYAN,
    DEDUP_WINDOW_SECONDS,
    RESET,
    DriverOutput,
    dedup_key,
    elapsed_label,
)


def out(pid, text, name="task", stream=1):
    return ("output", stream, pid, name, text)


@pytest.fixture
def plain():
    return DriverOutput(started_at=0.0, color=False, dedup=True)


def test_lines_get_the_task_prefix_on_their_own_stream(plain, capsys):
    plain.handle([out(7, "hello"), out(7, "oops", stream=2), out(8, "boot", name=None)], now=1.0)
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["(task pid=7) hello", "(pid=8) boot"]
    assert captured.err.splitlines() == ["(task pid=7) oops"]


def test_the_prefix_is_cyan_unless_colours_are_off(capsys):
    DriverOutput(started_at=0.0, color=True, dedup=False).handle([out(7, "hi")], now=0.0)
    assert capsys.readouterr().out == f"{CYAN}(task pid=7){RESET} hi\n"


def test_the_same_line_from_several_workers_is_folded(plain, capsys):
    lines = [out(1, "loaded 3 shards"), out(2, "loaded 5 shards"), out(3, "loaded 9 shards")]
    plain.handle(lines, now=0.0)
    assert capsys.readouterr().out.splitlines() == ["(task pid=1) loaded 3 shards"]
    plain.close_windows(DEDUP_WINDOW_SECONDS + 0.1)
    (folded,) = capsys.readouterr().out.splitlines()
    assert folded.startswith("(task pid=3) loaded 9 shards [repeated 2x across cluster]")


def test_one_held_copy_prints_plainly_and_one_process_is_never_held(plain, capsys):
    plain.handle([out(1, "tick"), out(1, "tick"), out(2, "tick")], now=0.0)
    assert capsys.readouterr().out.splitlines() == ["(task pid=1) tick", "(task pid=1) tick"]
    plain.flush()
    assert capsys.readouterr().out.splitlines() == ["(task pid=2) tick"]


def test_folding_can_be_turned_off(capsys):
    output = DriverOutput(started_at=0.0, color=False, dedup=False)
    output.handle([out(1, "same"), out(2, "same")], now=0.0)
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_an_infeasible_task_is_reported_like_the_autoscaler_does(plain, capsys):
    plain.handle([("infeasible", "big", {"CPU": 4.0})], now=65.0)
    assert capsys.readouterr().out == (
        "(autoscaler +1m5s) Error: No available node types can fulfill resource request "
        "{'CPU': 4.0}. Add suitable node types to this cluster to resolve this issue.\n"
    )


def test_dedup_key_and_elapsed_labels():
    assert dedup_key("worker 17 at 0x7f done") == "worker at done"
    assert [elapsed_label(s) for s in (5, 125, 3725)] == ["5s", "2m5s", "1h2m5s"]

"""``fusion-flow run``: an unmodified program's ``import ray`` gets fusion-flow, in the driver
and in its workers, for that run only; what fusion-flow lacks fails by name."""

import os
import subprocess
import sys
import textwrap

import pytest

from fusion_flow import ray_alias


def _run(tmp_path, source, *args, module=False, files=None):
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    (tmp_path / "prog.py").write_text(textwrap.dedent(source))
    target = ["-m", "prog"] if module else [str(tmp_path / "prog.py")]
    return subprocess.run(
        [sys.executable, "-m", "fusion_flow", "run", *target, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


PROGRAM = """
    import sys
    import ray
    import ray.util.queue
    from ray.exceptions import RayTaskError
    from neighbour import plus_one

    @ray.remote
    def names(x):
        import ray.util.actor_pool  # imported inside the worker
        return ray.__name__, ray.util.actor_pool.ActorPool.__module__, x * 2

    ray.init(num_cpus=1)
    print(sys.argv[1:])
    print(ray.get(names.remote(4)))
    print(ray.get(plus_one.remote(1)))
    try:
        ray.get(ray.remote(lambda: 1 / 0).remote())
    except RayTaskError as error:
        print(isinstance(error, ZeroDivisionError))
    ray.shutdown()
"""

NEIGHBOUR = """
    import ray

    @ray.remote
    def plus_one(x):
        return x + 1
"""


@pytest.mark.parametrize("module", [False, True], ids=["script", "module"])
def test_an_unmodified_program_runs_on_fusion_flow(tmp_path, module):
    done = _run(
        tmp_path, PROGRAM, "first", "--flag", module=module, files={"neighbour.py": NEIGHBOUR}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['first', '--flag']",
        "('fusion_flow.ray_compat', 'fusion_flow.ray_compat.util.actor_pool', 8)",
        "2",
        "True",
    ]


def test_a_ray_module_fusion_flow_lacks_fails_by_name(tmp_path):
    done = _run(
        tmp_path,
        """
        try:
            import ray.data
        except ModuleNotFoundError as error:
            print(error)
        import ray.tune.search
        """,
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("fusion-flow does not support ray.data yet")
    assert done.returncode == 1
    assert "fusion-flow does not support ray.tune yet" in done.stderr


def test_the_program_exit_code_and_traceback_come_through(tmp_path):
    done = _run(tmp_path, "import sys\nsys.exit(3)\n")
    assert done.returncode == 3
    failed = _run(tmp_path, "raise ValueError('from the program')\n")
    assert failed.returncode == 1
    assert "ValueError: from the program" in failed.stderr


def test_the_alias_maps_ray_names_only():
    assert ray_alias.target_of("ray") == "fusion_flow.ray_compat"
    assert ray_alias.target_of("ray.util.queue") == "fusion_flow.ray_compat.util.queue"
    assert ray_alias.target_of("rayon") is None
    assert ray_alias.target_of("numpy") is None


def test_rays_own_microbenchmark_runs_unmodified_with_its_client_section(tmp_path):
    """The ray wheel's ray_perf.py, narrowed by its own filter to one metric of the main
    sections and one of the Ray Client section."""
    ray_perf = pytest.importorskip("ray._private").__path__[0] + "/ray_perf.py"
    done = subprocess.run(
        [sys.executable, "-m", "fusion_flow", "run", ray_perf],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TESTS_TO_RUN": "get calls"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rates = {}
    for line in done.stdout.splitlines():
        name, _, rest = line.partition(" per second ")
        if rest:
            rates[name] = float(rest.split()[0])
    assert set(rates) == {"single client get calls (Plasma Store)", "client: get calls"}
    assert all(rate > 0 for rate in rates.values())

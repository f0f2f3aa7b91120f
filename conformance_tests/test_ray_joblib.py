"""The joblib backend: register_ray(), then joblib's Parallel runs on the runtime, with
joblib's own results, ordering, batching and error reporting."""

import os
from importlib import import_module
from math import sqrt

import pytest

joblib = pytest.importorskip("joblib")

INIT_KWARGS = dict(num_cpus=2)


def slow_square(x):
    return x * x


def fails_on(x, bad):
    if x == bad:
        raise ValueError(f"bad input {x}")
    return x


def worker_pid(_):
    return os.getpid()


def fit_and_score(fold, data):
    """A cross-validation style job: 'train' on every fold but one, 'score' on that one."""
    train = [x for i, x in enumerate(data) if i % 5 != fold]
    test = [x for i, x in enumerate(data) if i % 5 == fold]
    mean = sum(train) / len(train)
    return fold, sum((x - mean) ** 2 for x in test) / len(test)


@pytest.fixture(scope="module", autouse=True)
def registered(ray):
    import_module(ray.__name__ + ".util.joblib").register_ray()


def test_parallel_runs_on_the_backend(ray):
    with joblib.parallel_backend("ray", n_jobs=2):
        roots = joblib.Parallel()(joblib.delayed(sqrt)(i**2) for i in range(20))
        pids = joblib.Parallel()(joblib.delayed(worker_pid)(i) for i in range(20))
    assert roots == [float(i) for i in range(20)]
    assert os.getpid() not in pids  # the work ran in the runtime's processes


def test_a_cross_validation_style_workload(ray):
    data = [((i * 37) % 101) / 10 for i in range(200)]
    with joblib.parallel_backend("ray"):
        scores = joblib.Parallel(n_jobs=-1)(
            joblib.delayed(fit_and_score)(fold, data) for fold in range(5)
        )
    serial = [fit_and_score(fold, data) for fold in range(5)]
    assert scores == serial


def test_batches_and_return_order(ray):
    with joblib.parallel_backend("ray", n_jobs=2):
        values = joblib.Parallel(batch_size=7)(joblib.delayed(slow_square)(i) for i in range(50))
    assert values == [i * i for i in range(50)]


def test_an_error_in_a_job_is_raised_as_itself(ray):
    with joblib.parallel_backend("ray", n_jobs=2):
        with pytest.raises(ValueError, match="bad input 3"):
            joblib.Parallel()(joblib.delayed(fails_on)(i, 3) for i in range(8))

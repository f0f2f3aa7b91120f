"""The examples (examples/*.py, one --backend flag) give the results a serial computation
gives, on either backend."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import image_filter  # noqa: E402
import primes  # noqa: E402

from fusion_flow.workflows import microscope  # noqa: E402


@pytest.fixture(autouse=True)
def backend_not_running_here(ray_api):
    assert not ray_api.is_initialized()


def run_example(backend_name, script, *args):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--backend", backend_name, "--json", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_blocked_matrix_multiplication_equals_numpy(backend_name):
    report = run_example(backend_name, "matmul.py", "--sizes", "300", "--blocks", "3")
    rng = np.random.default_rng(300)
    a, b = rng.random((300, 300)), rng.random((300, 300))
    assert report[0]["equal"] is True
    assert report[0]["checksum"] == pytest.approx(float((a @ b).sum()), abs=0.05)


def test_prime_counts(backend_name):
    report = run_example(backend_name, "primes.py", "--limit", "1000000", "--chunks", "16")
    assert (report["count"], report["largest"]) == (78498, 999983)
    small = primes.base_primes(1000)
    assert primes.count_in_segment(0, 1000, small) == (168, 997)


def test_image_filter_pipeline(backend_name):
    report = run_example(backend_name, "image_filter.py", "--frames", "2", "--resolutions", "1080p")
    expected = []
    for frame in range(2):
        image = image_filter.generate(1080, 1920, frame)
        stages = (image_filter.grayscale, image_filter.blur, image_filter.sobel)
        for stage in stages:
            image = stage(image)
        expected.append(image_filter.threshold(image))
    assert report["1080p"]["frames"] == expected


def test_microscope_workflow(backend_name):
    report = run_example(
        backend_name, "microscope.py", "--batches", "2", "--images", "4", "--size", "128"
    )
    config = microscope.Config(batches_per_stripe=2, images_per_batch=4, image_size=128)
    expected = microscope.serial_digest(config)
    assert [tuple(row) for row in report["digest"]] == [tuple(row) for row in expected]

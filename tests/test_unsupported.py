"""Ray calls fusion-flow does not support yet fail with Unsupported (naming the feature)
before anything is submitted, and leave the runtime working."""

import pytest

import fusion_flow.ray_compat as ray
from fusion_flow.ray_compat._unsupported import Unsupported


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=1)
    yield
    ray.shutdown()


def test_actor_generator_backpressure_names_the_option():
    @ray.remote
    class Source:
        def items(self, n):
            yield from range(n)

    with pytest.raises(Unsupported, match="_actor_generator_backpressure_num_objects"):
        Source.options(_actor_generator_backpressure_num_objects=4).remote()
    items = Source.remote().items.options(num_returns="streaming").remote(2)
    assert [ray.get(ref) for ref in items] == [0, 1]

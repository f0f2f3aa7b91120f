"""Actor handles: repr, ids, equality and hash, passing handles into tasks and actors
and returning them; named actors, namespaces, get_actor, get_if_exists,
list_named_actors; the runtime context inside actors and in the driver.
"""

import os
import re
import uuid
import warnings

import pytest
from conformance_helpers import is_hex, poll

INIT_KWARGS = dict(num_cpus=2)

HANDLE_REPR = re.compile(r"Actor\(([\w.<>]+), ([0-9a-f]{32})\)")
LOOKUP_FAILED = (
    "Failed to look up actor with name '{}'. This could because 1. You are trying to look "
    "up a named actor you didn't create. 2. The named actor died. 3. You did not use a "
    "namespace matching the namespace of the actor."
)


class Counter:
    def __init__(self, start=0):
        self.value = start

    def increment(self):
        self.value += 1
        return self.value

    def pid(self):
        return os.getpid()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def actor_id_of(handle):
    match = HANDLE_REPR.fullmatch(repr(handle))
    assert match, repr(handle)
    return match.group(2)


def make_context_actor(ray):
    @ray.remote
    class Context:
        def info(self):
            context = ray.get_runtime_context()
            return {
                "actor_id": context.get_actor_id(),
                "actor_name": context.get_actor_name(),
                "task_id": context.get_task_id(),
                "task_name": context.get_task_name(),
                "job_id": context.get_job_id(),
                "node_id": context.get_node_id(),
                "worker_id": context.get_worker_id(),
                "namespace": context.namespace,
                "reconstructed": context.was_current_actor_reconstructed,
            }

        def current(self):
            return ray.get_runtime_context().current_actor

        def lookup(self, name, namespace=None):
            return ray.get_actor(name, namespace=namespace)

    return Context


# ----------------------------------------------------------------- repr, ids, equality


def test_handle_repr(ray):
    counter = ray.remote(Counter).remote()
    match = HANDLE_REPR.fullmatch(repr(counter))
    assert match, repr(counter)
    assert match.group(1) == "Counter"
    assert str(counter) == repr(counter)


def test_handle_repr_holds_the_actor_id(ray):
    context = make_context_actor(ray).remote()
    info = ray.get(context.info.remote())
    assert is_hex(info["actor_id"], 32)
    assert actor_id_of(context) == info["actor_id"]
    # The class is named by its qualified name.
    assert repr(context) == f"Actor(make_context_actor.<locals>.Context, {info['actor_id']})"


def test_each_actor_has_its_own_id(ray):
    cls = ray.remote(Counter)
    ids = {actor_id_of(cls.remote()) for _ in range(5)}
    assert len(ids) == 5


def test_handle_type_is_actor_handle(ray):
    counter = ray.remote(Counter).remote()
    assert type(counter).__name__ == "ActorHandle"


def test_equality_and_hash_by_actor_id(ray):
    cls = ray.remote(Counter)
    first, second = cls.remote(), cls.remote()
    assert first == first
    assert first != second
    assert not (first == 1)
    assert first != actor_id_of(first)

    @ray.remote
    def echo(handles):
        return handles

    echoed = ray.get(echo.remote([first]))[0]
    assert echoed == first
    assert echoed is not first
    assert hash(echoed) == hash(first)
    assert len({first, echoed, second}) == 2
    assert ray.get(ray.put([first]))[0] == first


# ----------------------------------------------------------------- passing handles


def test_handle_passed_into_a_task(ray):
    counter = ray.remote(Counter).remote()

    @ray.remote
    def use(handle):
        return ray.get(handle.increment.remote())

    @ray.remote
    def use_nested(box):
        return ray.get([h.increment.remote() for h in box["handles"]])

    assert ray.get(use.remote(counter)) == 1
    assert ray.get(use_nested.remote({"handles": [counter, counter]})) == [2, 3]
    assert ray.get(counter.increment.remote()) == 4


def test_handle_passed_into_another_actor(ray):
    counter = ray.remote(Counter).remote()

    @ray.remote
    class Caller:
        def __init__(self, handle=None):
            self.handle = handle

        def call(self, handle):
            return ray.get(handle.increment.remote())

        def call_all(self, handles):
            return ray.get([h.increment.remote() for h in handles])

        def call_own(self):
            return ray.get(self.handle.increment.remote())

    caller = Caller.remote()
    assert ray.get(caller.call.remote(counter)) == 1
    assert ray.get(caller.call_all.remote([counter, counter])) == [2, 3]
    assert ray.get(Caller.remote(counter).call_own.remote()) == 4


def test_handle_returned_from_a_task_that_created_the_actor(ray):
    cls = ray.remote(Counter)

    @ray.remote
    def create():
        handle = cls.remote(10)
        ray.get(handle.increment.remote())
        return handle

    handle = ray.get(create.remote())
    assert ray.get(handle.increment.remote()) == 12


def test_handle_returned_from_a_method(ray):
    cls = ray.remote(Counter)

    @ray.remote
    class Factory:
        def create(self, start):
            return cls.remote(start)

        def create_nested(self, start):
            return {"made": [cls.remote(start)]}

    factory = Factory.remote()
    made = ray.get(factory.create.remote(5))
    assert ray.get(made.increment.remote()) == 6
    nested = ray.get(factory.create_nested.remote(7))["made"][0]
    assert ray.get(nested.increment.remote()) == 8


def test_current_actor_is_a_handle_equal_to_the_original(ray):
    context = make_context_actor(ray).remote()
    current = ray.get(context.current.remote())
    assert current == context
    assert hash(current) == hash(context)
    assert repr(current) == repr(context)
    assert ray.get(current.info.remote())["actor_id"] == actor_id_of(context)


# ----------------------------------------------------------------- runtime context


def test_runtime_context_inside_an_actor(ray):
    context = make_context_actor(ray).remote()
    first = ray.get(context.info.remote())
    second = ray.get(context.info.remote())
    driver = ray.get_runtime_context()
    assert first["actor_id"] == actor_id_of(context)
    assert first["actor_name"] == ""  # anonymous
    assert is_hex(first["task_id"], 48) and is_hex(second["task_id"], 48)
    assert first["task_id"] != second["task_id"]
    assert first["task_name"] == "Context.info"
    assert first["job_id"] == driver.get_job_id()
    assert first["node_id"] == driver.get_node_id()
    assert is_hex(first["worker_id"], 56)
    assert first["worker_id"] != driver.get_worker_id()
    assert first["worker_id"] == second["worker_id"]
    assert first["namespace"] == driver.namespace
    assert first["reconstructed"] is False


def test_task_name_follows_the_method_options(ray):
    context = make_context_actor(ray).remote()
    assert ray.get(context.info.options(name="custom-call").remote())["task_name"] == (
        "custom-call"
    )


def test_task_function_name_inside_an_actor(ray):
    @ray.remote
    class Named:
        def function_name(self):
            return ray.get_runtime_context().get_task_function_name()

    name = ray.get(Named.remote().function_name.remote())
    assert name.endswith(".Named.function_name")
    assert name.startswith(__name__ + ".")


def test_actor_name_in_the_runtime_context(ray):
    name = unique("context")
    context = make_context_actor(ray).options(name=name).remote()
    assert ray.get(context.info.remote())["actor_name"] == name


def test_namespace_in_the_runtime_context_is_the_jobs(ray):
    # An actor created in another namespace still reports the job's namespace.
    context = make_context_actor(ray).options(name=unique("ns"), namespace="elsewhere").remote()
    assert ray.get(context.info.remote())["namespace"] == ray.get_runtime_context().namespace


def test_runtime_context_in_the_driver(ray):
    context = ray.get_runtime_context()
    assert context.get_actor_id() is None
    assert context.get_actor_name() is None
    with pytest.raises(RuntimeError) as info:
        context.current_actor  # noqa: B018
    assert str(info.value) == "This method is only available in an actor."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray adds a deprecation warning on the way
        with pytest.raises(AssertionError):
            context.was_current_actor_reconstructed  # noqa: B018


def test_runtime_context_in_a_task(ray):
    @ray.remote
    def inside():
        context = ray.get_runtime_context()
        try:
            context.current_actor  # noqa: B018
            current = "no error"
        except RuntimeError as error:
            current = str(error)
        return context.get_actor_id(), context.get_actor_name(), current

    assert ray.get(inside.remote()) == (None, None, "This method is only available in an actor.")


# ----------------------------------------------------------------- named actors


def test_get_actor_returns_an_equal_handle(ray):
    name = unique("named")
    counter = ray.remote(Counter).options(name=name).remote()
    found = ray.get_actor(name)
    assert found == counter
    assert repr(found) == repr(counter)
    assert ray.get(found.increment.remote()) == 1
    assert ray.get(counter.increment.remote()) == 2


def test_get_actor_with_the_current_namespace(ray):
    name = unique("named")
    counter = ray.remote(Counter).options(name=name).remote()
    assert ray.get_actor(name, namespace=ray.get_runtime_context().namespace) == counter
    assert ray.get_actor(name, namespace=None) == counter


def test_get_actor_from_inside_a_task_and_an_actor(ray):
    name = unique("named")
    counter = ray.remote(Counter).options(name=name).remote()

    @ray.remote
    def look_up(actor_name):
        return ray.get_actor(actor_name)

    assert ray.get(look_up.remote(name)) == counter
    context = make_context_actor(ray).remote()
    assert ray.get(context.lookup.remote(name)) == counter


@pytest.mark.parametrize("namespace", [None, "some-other-namespace"])
def test_get_actor_of_a_missing_name(ray, namespace):
    with pytest.raises(ValueError) as info:
        ray.get_actor("no-such-actor", namespace=namespace)
    assert type(info.value) is ValueError
    assert str(info.value) == LOOKUP_FAILED.format("no-such-actor")


@pytest.mark.parametrize("name", ["", None])
def test_get_actor_of_an_empty_name(ray, name):
    with pytest.raises(ValueError) as info:
        ray.get_actor(name)
    assert str(info.value) == "Please supply a non-empty value to get_actor"


def test_get_actor_of_a_non_string_name(ray):
    with pytest.raises(TypeError):
        ray.get_actor(1)


def test_get_actor_with_an_invalid_namespace(ray):
    with pytest.raises(TypeError) as info:
        ray.get_actor("x", namespace=1)
    assert str(info.value) == "namespace must be None or a string."
    with pytest.raises(ValueError) as info:
        ray.get_actor("x", namespace="")
    assert str(info.value) == '"" is not a valid namespace. Pass None to not specify a namespace.'


def test_named_actor_names_are_unique(ray):
    name = unique("taken")
    cls = ray.remote(Counter)
    first = cls.options(name=name).remote()
    with pytest.raises(ray.exceptions.ActorAlreadyExistsError) as info:
        cls.options(name=name).remote()
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, ray.exceptions.RayError)
    assert str(error) == (
        f"The name {name} (namespace=None) is already taken. Please use a different name or "
        f"get the existing actor using ray.get_actor('{name}', namespace='None')"
    )
    # The first one is untouched.
    assert ray.get(first.increment.remote()) == 1
    assert ray.get_actor(name) == first


def test_named_actor_names_are_unique_in_an_explicit_namespace(ray):
    name = unique("taken")
    cls = ray.remote(Counter)
    first = cls.options(name=name, namespace="explicit-ns").remote()
    with pytest.raises(ray.exceptions.ActorAlreadyExistsError) as info:
        cls.options(name=name, namespace="explicit-ns").remote()
    assert str(info.value) == (
        f"The name {name} (namespace=explicit-ns) is already taken. Please use a different "
        f"name or get the existing actor using ray.get_actor('{name}', "
        "namespace='explicit-ns')"
    )
    assert ray.get_actor(name, namespace="explicit-ns") == first


def test_empty_actor_name_is_rejected(ray):
    with pytest.raises(ValueError) as info:
        ray.remote(Counter).options(name="").remote()
    assert str(info.value) == "Actor name cannot be an empty string."


def test_empty_namespace_is_rejected(ray):
    with pytest.raises(ValueError) as info:
        ray.remote(Counter).options(name=unique("ns"), namespace="").remote()
    assert str(info.value) == '"" is not a valid namespace. Pass None to not specify a namespace.'


def test_namespaces_isolate_names(ray):
    name = unique("shared-name")
    cls = ray.remote(Counter)
    here = cls.options(name=name).remote(0)
    there = cls.options(name=name, namespace="isolated-ns").remote(100)
    assert here != there
    assert ray.get_actor(name) == here
    assert ray.get_actor(name, namespace="isolated-ns") == there
    assert ray.get(ray.get_actor(name, namespace="isolated-ns").increment.remote()) == 101
    only_there = unique("only-there")
    kept = cls.options(name=only_there, namespace="isolated-ns").remote()
    with pytest.raises(ValueError) as info:
        ray.get_actor(only_there)
    assert str(info.value) == LOOKUP_FAILED.format(only_there)
    assert ray.get_actor(only_there, namespace="isolated-ns") == kept


def test_get_if_exists_returns_the_existing_actor(ray):
    name = unique("get-or-create")
    cls = ray.remote(Counter)
    first = cls.options(name=name, get_if_exists=True).remote(10)
    assert ray.get(first.increment.remote()) == 11
    # The second call's constructor arguments are ignored: it is the same actor.
    second = cls.options(name=name, get_if_exists=True).remote(500)
    assert second == first
    assert ray.get(second.increment.remote()) == 12


def test_get_if_exists_respects_the_namespace(ray):
    name = unique("get-or-create")
    cls = ray.remote(Counter)
    here = cls.options(name=name, get_if_exists=True).remote(10)
    there = cls.options(name=name, namespace="gie-ns", get_if_exists=True).remote(20)
    assert here != there
    assert ray.get(there.increment.remote()) == 21
    assert ray.get(here.increment.remote()) == 11


def test_get_if_exists_from_the_decorator(ray):
    name = unique("decorated")
    cls = ray.remote(name=name, get_if_exists=True)(Counter)
    first = cls.remote(1)
    second = cls.remote(2)
    assert first == second
    assert ray.get(second.increment.remote()) == 2


# ----------------------------------------------------------------- list_named_actors


def test_list_named_actors_in_the_current_namespace(ray):
    prefix = unique("listed")
    cls = ray.remote(Counter)
    keep = [cls.options(name=f"{prefix}-{i}").remote() for i in range(3)]
    keep.append(cls.options(name=f"{prefix}-other", namespace="list-other-ns").remote())
    keep.append(cls.remote())  # anonymous: never listed
    ray.get([h.pid.remote() for h in keep])
    names = ray.util.list_named_actors()
    assert isinstance(names, list)
    assert all(isinstance(n, str) for n in names)
    assert sorted(n for n in names if n.startswith(prefix)) == [
        f"{prefix}-0",
        f"{prefix}-1",
        f"{prefix}-2",
    ]
    assert f"{prefix}-other" not in names
    assert {f"{prefix}-0", f"{prefix}-1"} <= set(ray.util.list_named_actors(False))


def test_list_named_actors_in_all_namespaces(ray):
    prefix = unique("listed-all")
    cls = ray.remote(Counter)
    keep = [
        cls.options(name=f"{prefix}-a").remote(),
        cls.options(name=f"{prefix}-b", namespace="list-all-ns").remote(),
    ]
    ray.get([h.pid.remote() for h in keep])
    entries = ray.util.list_named_actors(all_namespaces=True)
    assert isinstance(entries, list)
    assert all(isinstance(e, dict) and set(e) == {"name", "namespace"} for e in entries)
    ours = sorted((e["name"], e["namespace"]) for e in entries if e["name"].startswith(prefix))
    assert ours == [
        (f"{prefix}-a", ray.get_runtime_context().namespace),
        (f"{prefix}-b", "list-all-ns"),
    ]
    positional = ray.util.list_named_actors(True)
    assert {"name": f"{prefix}-b", "namespace": "list-all-ns"} in positional


def test_killed_named_actor_leaves_the_list(ray):
    name = unique("killed")
    counter = ray.remote(Counter).options(name=name).remote()
    ray.get(counter.pid.remote())
    assert name in ray.util.list_named_actors()
    ray.kill(counter)
    assert poll(lambda: name not in ray.util.list_named_actors(), timeout=30)
    with pytest.raises(ValueError) as info:
        ray.get_actor(name)
    assert str(info.value) == LOOKUP_FAILED.format(name)
    # The name can be used again.
    again = ray.remote(Counter).options(name=name).remote(5)
    assert ray.get(again.increment.remote()) == 6


@pytest.mark.parametrize(
    ("name", "bases"),
    [
        ("ActorAlreadyExistsError", ("ValueError", "RayError")),
        ("ActorHandleNotFoundError", ("ValueError", "RayError")),
        ("PendingCallsLimitExceeded", ("RayError",)),
        ("ActorUnschedulableError", ("RayError",)),
        ("AsyncioActorExit", ("RayError",)),
    ],
)
def test_actor_exception_classes(ray_api, name, bases):
    import builtins

    cls = getattr(ray_api.exceptions, name)
    for base_name in bases:
        base = getattr(ray_api.exceptions, base_name, None) or getattr(builtins, base_name)
        assert issubclass(cls, base)

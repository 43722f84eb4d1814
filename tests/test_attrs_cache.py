"""attrs' generated methods of tokenfab's classes come from a cache on disk and behave as freshly compiled ones."""

import json
import os
import subprocess
import sys

import attrs
import pytest
from tokenfab import _attrs_cache as cache


def _pair_class(module: str = "tokenfab.cachetest"):
    namespace = {"__module__": module, "__qualname__": "Pair", "__annotations__": {"a": "int", "b": "str"}}
    return attrs.frozen(type("Pair", (), namespace))


@pytest.fixture
def empty_cache(monkeypatch):
    import attr._make

    monkeypatch.setattr(attr._make, "compile", cache.cached_compile, raising=False)
    monkeypatch.setattr(cache, "_cache", {})
    monkeypatch.setattr(cache, "_added", {})
    return cache


def test_a_cached_class_is_the_fresh_class_with_this_process_salt(empty_cache):
    fresh = _pair_class()
    assert len(empty_cache._added) == 1  # one source for the class's methods, compiled and kept
    key, (code, salt) = next(iter(empty_cache._added.items()))
    # a later process wrote the same source with its own salt: the cached code gets this one's
    empty_cache._cache[key] = (code, salt + 12345)
    empty_cache._added.clear()
    cached = _pair_class()
    assert not empty_cache._added  # answered from the cache
    one, two = fresh(a=1, b="x"), cached(a=1, b="x")
    assert hash(one) == hash(two) and repr(one) == repr(two) == "Pair(a=1, b='x')"
    assert cached(a=1, b="x") == two != cached(a=2, b="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        two.a = 3  # type: ignore[misc]


def test_other_packages_classes_are_compiled_as_usual(empty_cache):
    _pair_class(module="somebody.else")
    assert not empty_cache._added


def _run(code: str, env: dict, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return proc.stdout.strip().splitlines()[-1]


HASHES = (
    "import json, sys, tokenfab, tokenfab._attrs_cache as c; from tokenfab.deployment import Speculative;"
    "from tokenfab.protocol import Precision;"
    "objs = [Speculative(draft='mtp'), Speculative(draft='mtp', tokens=4, acceptance=0.5), Precision(name='fp8')];"
    "print(json.dumps([[hash(o) for o in objs], [repr(o) for o in objs], len(c._added), len(c._load())]));"
    "c.save(force='SAVE' in sys.argv)"
)


def test_a_second_process_reads_the_cache_and_hashes_alike(tmp_path):
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path), "PYTHONHASHSEED": "1"}
    env.pop(cache.DISABLE_VARIABLE, None)
    first = json.loads(_run(HASHES, env, "SAVE"))
    assert first[2] > 10 and first[3] == 0  # compiled, none read, written at the end
    assert list(tmp_path.rglob("attrs-methods.*.marshal"))
    env["PYTHONHASHSEED"] = "2"  # another salt in every __hash__ (objects without None: hash(None) is an address)
    hashes, reprs, added, entries = json.loads(_run(HASHES, env))
    assert added == 0 and entries == first[2]  # every class came from the cache
    reference = json.loads(_run(HASHES, {**env, cache.DISABLE_VARIABLE: "0"}))
    assert reference[:2] == [hashes, reprs] and reference[2] == 0  # cache off: attrs compiles, nothing kept


def test_a_torn_cache_file_is_ignored(tmp_path):
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    path = _run("import tokenfab._attrs_cache as c; print(c.cache_path())", env)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b"\xfa\x00 not marshal")
    hashes, _, added, entries = json.loads(_run(HASHES, env))
    assert entries == 0 and added > 0 and len(hashes) == 3

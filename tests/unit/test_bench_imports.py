"""Every benchmark at least loads: they run by hand, so nothing else would notice a broken
import before someone needs the figures."""

import importlib
from pathlib import Path

import pytest

BENCHES = sorted(
    p.stem
    for p in (Path(__file__).resolve().parents[2] / "bench").glob("*.py")
    if p.stem != "__init__"
)


@pytest.mark.parametrize("name", BENCHES)
def test_each_benchmark_module_imports(name):
    module = importlib.import_module(f"bench.{name}")
    assert name == "common" or callable(getattr(module, "main", None))

"""The package surface: lazy submodules and entry points, a quick `import fastinit`."""

import subprocess
import sys

import pytest

import fastinit


def test_import_is_light():
    # SciPy and matplotlib load only when a module that needs them is used.
    code = ("import sys, fastinit; "
            "print(sorted(m for m in ('scipy', 'matplotlib', 'fastinit.stack', 'fastinit.theory') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["activations", "data", "experiments", "init", "theory"])
def test_lazy_submodules(name):
    mod = getattr(fastinit, name)
    assert mod.__name__ == f"fastinit.{name}"
    assert name in dir(fastinit) and name in fastinit.__all__


def test_lazy_engine_entry_points():
    from fastinit import stack

    assert fastinit.simulate is stack.simulate
    assert fastinit.propagate is stack.propagate
    assert fastinit.StackResult is stack.StackResult


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        fastinit.no_such_thing  # noqa: B018


def test_all_resolves():
    for name in fastinit.__all__:
        assert getattr(fastinit, name) is not None

"""The .pyi stubs say what the modules are: names, parameter names, kinds and defaults.

fastinit.init builds its scheme functions at run time and the Cython extensions have no Python
source, so their stubs are written by hand; this file keeps them true. Each stub is parsed with
``ast`` (no type checker needed) and compared with ``inspect.signature`` of the runtime objects.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib
import inspect
import math
import types
from pathlib import Path

import numpy as np
import pytest

import fastinit

_SRC = Path(__file__).resolve().parents[1] / "src" / "fastinit"
_ELLIPSIS = object()  # a stub default written as `...`: "has a default", value not stated
_KINDS = inspect.Parameter


# ---- parsing a stub ----------------------------------------------------------------------------

def _stub_path(modname: str) -> Path:
    """The stub beside the imported module (the installed one), else the source tree's."""
    mod = importlib.import_module(modname)
    leaf = modname.rsplit(".", 1)[1] + ".pyi"
    beside = Path(mod.__file__).parent / leaf
    return beside if beside.exists() else _SRC / leaf


def _eval_default(node: ast.expr):
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return _ELLIPSIS
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    # np.float32, -math.inf, math.nan: names from numpy and math only
    code = compile(ast.Expression(node), "<stub default>", "eval")
    return eval(code, {"__builtins__": {}, "np": np, "math": math})  # noqa: S307


def _params(fn: ast.FunctionDef) -> list[tuple[str, inspect._ParameterKind, object]]:
    """(name, kind, default or inspect.Parameter.empty) of a stub function, in order."""
    a = fn.args
    positional = [(p, _KINDS.POSITIONAL_ONLY) for p in a.posonlyargs]
    positional += [(p, _KINDS.POSITIONAL_OR_KEYWORD) for p in a.args]
    defaults = [_KINDS.empty] * (len(positional) - len(a.defaults)) + [
        _eval_default(d) for d in a.defaults]
    out = [(p.arg, k, d) for (p, k), d in zip(positional, defaults)]
    if a.vararg:
        out.append((a.vararg.arg, _KINDS.VAR_POSITIONAL, _KINDS.empty))
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((p.arg, _KINDS.KEYWORD_ONLY, _KINDS.empty if d is None else _eval_default(d)))
    if a.kwarg:
        out.append((a.kwarg.arg, _KINDS.VAR_KEYWORD, _KINDS.empty))
    return out


def _is_overload(fn: ast.FunctionDef) -> bool:
    return any((isinstance(d, ast.Name) and d.id == "overload")
               or (isinstance(d, ast.Attribute) and d.attr == "overload")
               for d in fn.decorator_list)


def _is_dataclass(cls: ast.ClassDef) -> tuple[bool, bool]:
    """(decorated with dataclass, frozen=True)."""
    for d in cls.decorator_list:
        call = d if isinstance(d, ast.Call) else None
        f = call.func if call else d
        if (isinstance(f, ast.Name) and f.id == "dataclass") or (
                isinstance(f, ast.Attribute) and f.attr == "dataclass"):
            frozen = bool(call) and any(k.arg == "frozen" and ast.literal_eval(k.value)
                                        for k in call.keywords)
            return True, frozen
    return False, False


class Stub:
    """The top-level definitions of one .pyi file."""

    def __init__(self, source: str, filename: str = "<stub>"):
        self.tree = ast.parse(source, filename)
        self.functions: dict[str, list[ast.FunctionDef]] = {}   # overloads: several
        self.classes: dict[str, ast.ClassDef] = {}
        self.variables: dict[str, ast.expr] = {}                 # name: annotation
        self.aliases: dict[str, str] = {}                        # name = other_name
        self.reexports: set[str] = set()                         # from x import y as y
        self.imported: set[str] = set()                          # every name an import binds
        self.type_aliases: set[str] = set()                      # _Private = <type expression>
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef):
                self.functions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.variables[node.target.id] = node.annotation
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                name = node.targets[0].id
                if isinstance(node.value, ast.Name) and not name.startswith("_"):
                    self.aliases[name] = node.value.id
                else:
                    self.type_aliases.add(name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for al in node.names:
                    bound = al.asname or al.name.split(".")[0]
                    self.imported.add(bound)
                    if isinstance(node, ast.ImportFrom) and al.asname == al.name:
                        self.reexports.add(al.name)

    @classmethod
    def load(cls, modname: str) -> Stub:
        path = _stub_path(modname)
        return cls(path.read_text(), str(path))

    def public_names(self) -> set[str]:
        """What the stub says the module defines (imports only where re-exported)."""
        return (set(self.functions) | set(self.classes) | set(self.variables)
                | set(self.aliases) | self.reexports) - {"__all__"}

    def undefined_names(self) -> set[str]:
        """Names used in annotations/defaults that nothing in the stub binds (a checker's error)."""
        defined = (set(self.functions) | set(self.classes) | set(self.variables)
                   | set(self.aliases) | self.imported | self.type_aliases | set(dir(builtins)))
        used = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used.add(node.id)
        return used - defined


# ---- comparing with the runtime ----------------------------------------------------------------

def _same(a, b) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _runtime_params(obj) -> list[tuple[str, inspect._ParameterKind, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


def _fmt(params) -> str:
    return "(" + ", ".join(f"{n}[{k.name}]" + ("" if d is _KINDS.empty else f"={d!r}")
                           for n, k, d in params) + ")"


def signature_problems(stub_params, runtime_params, *, allow_ellipsis: bool,
                       narrowing: bool = False) -> list[str]:
    """Differences between a stub signature and the runtime one ([] when they agree).

    ``allow_ellipsis``: a ``...`` default stands for any runtime default (the Cython stubs').
    ``narrowing``: an ``@overload`` may leave out a default the runtime has (it narrows a call).
    """
    names_s = [(n, k) for n, k, _ in stub_params]
    names_r = [(n, k) for n, k, _ in runtime_params]
    if names_s != names_r:
        return [f"parameters differ: stub {_fmt(stub_params)} vs runtime {_fmt(runtime_params)}"]
    problems = []
    for (name, _, ds), (_, _, dr) in zip(stub_params, runtime_params):
        if ds is _KINDS.empty:
            if dr is not _KINDS.empty and not narrowing:
                problems.append(f"{name}: stub has no default, runtime default is {dr!r}")
        elif dr is _KINDS.empty:
            problems.append(f"{name}: stub default {'...' if ds is _ELLIPSIS else repr(ds)}, "
                            "runtime has none")
        elif ds is _ELLIPSIS:
            if not allow_ellipsis:
                problems.append(f"{name}: stub default is `...`; write the runtime's {dr!r}")
        elif not _same(ds, dr):
            problems.append(f"{name}: stub default {ds!r} != runtime default {dr!r}")
    return problems


def function_problems(defs: list[ast.FunctionDef], obj, *, allow_ellipsis: bool,
                      skip_self: bool = False) -> list[str]:
    """A stub function (or its overloads) against the runtime callable."""
    runtime = _runtime_params(obj)
    if skip_self:
        runtime = [("self", _KINDS.POSITIONAL_OR_KEYWORD, _KINDS.empty)] + runtime
    overloads = [d for d in defs if _is_overload(d)]
    if not overloads:
        if len(defs) != 1:
            return [f"defined {len(defs)} times without @overload"]
        return signature_problems(_params(defs[0]), runtime, allow_ellipsis=allow_ellipsis)
    if len(overloads) != len(defs) or len(overloads) < 2:
        return ["mixes @overload and plain definitions, or has a single @overload"]
    problems = []
    for i, d in enumerate(overloads):
        # every overload has the runtime's parameters; the last, general one its defaults too
        last = i == len(overloads) - 1
        problems += [f"overload {i}: {p}" for p in signature_problems(
            _params(d), runtime, allow_ellipsis=allow_ellipsis, narrowing=not last)]
    return problems


def dataclass_problems(cls_node: ast.ClassDef, cls) -> list[str]:
    is_dc, frozen = _is_dataclass(cls_node)
    if not dataclasses.is_dataclass(cls):
        return ["the stub says dataclass, the runtime class is not one"] if is_dc else []
    if not is_dc:
        return ["the runtime class is a dataclass, the stub does not say so"]
    problems = []
    if frozen != cls.__dataclass_params__.frozen:
        problems.append(f"frozen={frozen} in the stub, "
                        f"{cls.__dataclass_params__.frozen} at run time")
    fields = [(n.target.id, _KINDS.POSITIONAL_OR_KEYWORD,
               _KINDS.empty if n.value is None else _eval_default(n.value))
              for n in cls_node.body if isinstance(n, ast.AnnAssign)]
    return problems + signature_problems(fields, _runtime_params(cls), allow_ellipsis=False)


def _introspectable(obj) -> bool:
    try:
        inspect.signature(obj)
    except (ValueError, TypeError):
        return False
    return True


def class_problems(cls_node: ast.ClassDef, cls, *, allow_ellipsis: bool) -> list[str]:
    """Methods (where introspectable) and attribute names of a class."""
    if dataclasses.is_dataclass(cls) or _is_dataclass(cls_node)[0]:
        return dataclass_problems(cls_node, cls)
    problems = []
    methods: dict[str, list[ast.FunctionDef]] = {}
    attrs = set()
    for n in cls_node.body:
        if isinstance(n, ast.FunctionDef):
            methods.setdefault(n.name, []).append(n)
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            attrs.add(n.target.id)
    for name, defs in methods.items():
        if not hasattr(cls, name):
            problems.append(f"{cls.__name__}.{name}: in the stub, not at run time")
            continue
        member = inspect.getattr_static(cls, name)
        if name in ("__init__", "__cinit__") and not _introspectable(cls):
            continue  # extension types' constructors hide their signature
        if not _introspectable(member):
            continue
        problems += [f"{cls.__name__}.{name}: {p}"
                     for p in function_problems(defs, member, allow_ellipsis=allow_ellipsis)]
    for name in attrs:
        if not hasattr(cls, name):
            problems.append(f"{cls.__name__}.{name}: attribute in the stub, not at run time")
    runtime_public = {n for n, v in vars(cls).items() if not n.startswith("__")}
    for name in sorted(runtime_public - attrs - set(methods)):
        problems.append(f"{cls.__name__}.{name}: at run time, missing from the stub")
    return problems


_SIMPLE_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple,
                 "dict": dict, "list": list}


def variable_problems(name: str, annotation: ast.expr, value) -> list[str]:
    base = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    if isinstance(base, ast.Name) and base.id in _SIMPLE_TYPES:
        if not isinstance(value, _SIMPLE_TYPES[base.id]):
            return [f"{name}: the stub says {base.id}, runtime value is {type(value).__name__}"]
    return []


def module_problems(modname: str, *, allow_ellipsis: bool) -> list[str]:
    mod = importlib.import_module(modname)
    stub = Stub.load(modname)
    problems = [f"undefined name {n!r} used in the stub" for n in sorted(stub.undefined_names())]
    if hasattr(mod, "__all__"):
        runtime_names = set(mod.__all__)
    else:  # an extension module: what it defines, less the modules it imports
        runtime_names = {n for n, v in vars(mod).items()
                         if not n.startswith("__") and not isinstance(v, types.ModuleType)}
    stub_names = stub.public_names()
    problems += [f"{n}: at run time, missing from the stub"
                 for n in sorted(runtime_names - stub_names)]
    problems += [f"{n}: in the stub, not a public name at run time"
                 for n in sorted(stub_names - runtime_names)]
    for name in sorted(stub_names & runtime_names):
        obj = getattr(mod, name)
        if name in stub.functions:
            if _introspectable(obj):
                problems += [f"{name}: {p}" for p in function_problems(
                    stub.functions[name], obj, allow_ellipsis=allow_ellipsis)]
            elif not callable(obj):
                problems.append(f"{name}: a function in the stub, {type(obj).__name__} at run time")
        elif name in stub.classes:
            if not isinstance(obj, type):
                problems.append(f"{name}: a class in the stub, {type(obj).__name__} at run time")
            else:
                problems += class_problems(stub.classes[name], obj, allow_ellipsis=allow_ellipsis)
        elif name in stub.aliases:
            target = stub.aliases[name]
            if getattr(mod, target, None) is not obj:
                problems.append(f"{name}: the stub says it is {target}, it is not at run time")
        elif name in stub.variables:
            problems += variable_problems(name, stub.variables[name], obj)
    return problems


# ---- the stubs ---------------------------------------------------------------------------------

def test_init_stub_exists_beside_the_module():
    import fastinit.init

    assert (_SRC / "init.pyi").exists()
    assert _stub_path("fastinit.init").exists()
    assert (_SRC / "py.typed").exists()


def test_init_stub_matches_runtime():
    # strict: every default is written out (no `...`), as inspect.signature reports it
    problems = module_problems("fastinit.init", allow_ellipsis=False)
    assert not problems, "\n".join(problems)


def test_init_stub_covers_all_and_the_in_place_twins():
    import fastinit.init as fi

    stub = Stub.load("fastinit.init")
    assert set(fi.__all__) <= stub.public_names()
    for name in fi.__all__:
        obj = getattr(fi, name)
        if callable(obj) and not isinstance(obj, type) and name + "_" in fi.__all__:
            # a scheme: the new-array function takes shape, its twin tensor, and the rest agree
            new = _runtime_params(obj)
            twin = _runtime_params(getattr(fi, name + "_"))
            assert new[0][0] == "shape" and twin[0][0] == "tensor"
            assert [p for p in new[1:] if p[0] != "dtype"] == twin[1:]


@pytest.mark.parametrize("modname", ["fastinit._core", "fastinit._activation", "fastinit._stack"])
def test_extension_stub_matches_runtime(modname):
    path = _SRC / (modname.rsplit(".", 1)[1] + ".pyi")
    assert path.exists(), f"every extension module has a stub: {path.name} is missing"
    problems = module_problems(modname, allow_ellipsis=True)
    assert not problems, "\n".join(problems)


def test_extension_functions_are_introspectable():
    # Cython 3 compiles with binding=True: the stub comparison really sees the signatures
    from fastinit import _activation, _core, _stack

    for fn in (_core.fill_normal, _core.transform_words, _activation.forward, _stack.gemm,
               _stack.Engine.backward):
        assert _introspectable(fn), fn
    assert _runtime_params(_core.transform_words)[3] == ("loc", _KINDS.POSITIONAL_OR_KEYWORD, 0.0)


# ---- the checker itself finds what it must -----------------------------------------------------

def _problems_of(source: str, obj, *, allow_ellipsis: bool = False) -> list[str]:
    stub = Stub(source)
    (name, defs), = stub.functions.items()
    return function_problems(defs, obj, allow_ellipsis=allow_ellipsis)


def _sample(shape, gain=1.0, *, dtype=np.float32, rng=None):
    pass


@pytest.mark.parametrize("source, fragment", [
    ("def f(shape, gain=1.0, *, dtype=np.float32, rng=None): ...", None),
    ("def f(shape, gain=2.0, *, dtype=np.float32, rng=None): ...", "gain: stub default 2.0"),
    ("def f(shape, gain=1, *, dtype=np.float32, rng=None): ...", "gain: stub default 1 "),
    ("def f(shape, gain=1.0, *, dtype=np.float64, rng=None): ...", "dtype: stub default"),
    ("def f(shape, gain=1.0, *, dtype=np.float32): ...", "parameters differ"),
    ("def f(shape, *, gain=1.0, dtype=np.float32, rng=None): ...", "parameters differ"),
    ("def f(tensor, gain=1.0, *, dtype=np.float32, rng=None): ...", "parameters differ"),
    ("def f(shape, gain, *, dtype=np.float32, rng=None): ...", "gain: stub has no default"),
    ("def f(shape=None, gain=1.0, *, dtype=np.float32, rng=None): ...", "runtime has none"),
    ("def f(shape, gain=..., *, dtype=np.float32, rng=None): ...", "write the runtime's 1.0"),
])
def test_checker_finds_mismatches(source, fragment):
    problems = _problems_of(source, _sample)
    if fragment is None:
        assert problems == []
    else:
        assert any(fragment in p for p in problems), problems


def test_checker_ellipsis_and_overloads():
    assert _problems_of("def f(shape, gain=..., *, dtype=..., rng=...): ...", _sample,
                        allow_ellipsis=True) == []
    ok = ("@overload\ndef f(shape, gain=1.0, *, dtype=np.float32, rng: None = None): ...\n"
          "@overload\ndef f(shape, gain=1.0, *, dtype=np.float32, rng): ...\n"
          "@overload\ndef f(shape, gain=1.0, *, dtype=np.float32, rng=None): ...\n")
    assert _problems_of(ok, _sample) == []
    # the last (general) overload must carry every default
    bad = (ok.rsplit("@overload", 1)[0]
           + "@overload\ndef f(shape, gain=1.0, *, dtype=np.float32, rng): ...\n")
    assert any("overload 2" in p for p in _problems_of(bad, _sample))
    assert _problems_of("def f(shape, gain=1.0, *, dtype=np.float32, rng=None): ...\n" * 2,
                        _sample) == ["defined 2 times without @overload"]


def test_checker_finds_nan_inf_defaults_and_undefined_names():
    @dataclasses.dataclass(frozen=True)
    class Spec:
        a: float = -math.inf
        std: float = math.nan

    good = Stub("@dataclass(frozen=True)\nclass Spec:\n    a: float = -math.inf\n"
                "    std: float = math.nan\n")
    assert class_problems(good.classes["Spec"], Spec, allow_ellipsis=False) == []
    bad = Stub("@dataclass\nclass Spec:\n    a: float = math.inf\n    std: float = 0.0\n")
    problems = class_problems(bad.classes["Spec"], Spec, allow_ellipsis=False)
    assert len(problems) == 3, problems  # frozen, a, std
    assert Stub("import numpy as np\nx: np.ndarray\ny: Undefined\n").undefined_names() == {
        "Undefined"}


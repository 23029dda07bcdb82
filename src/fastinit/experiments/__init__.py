"""The seed experiments of fastinit, one module each, behind one registry.

Each experiment is a module of this package with

``run(**settings) -> ExperimentResult``
    Keyword-only settings whose defaults are the built-in defaults of
    ``fastinit report``. Common names are recognised by the command line and
    passed when present: ``seed``, ``dtype``, ``threads``, ``progress`` (a
    callable ``progress(done, total)``).
``plot(result) -> dict[str, matplotlib.figure.Figure]``
    Figures by file stem (``"matmul_chain_std"`` -> ``matmul_chain_std.png``);
    made with :func:`fastinit._report.new_figure`, coloured per init scheme
    with :func:`fastinit._report.init_color`.
``add_arguments(parser)`` (optional)
    The experiment's own command-line flags; each ``dest`` is a parameter of
    ``run`` and each default is None (meaning: ``run``'s default).
``QUICK`` (optional)
    Small settings for ``fastinit report --quick`` and the tests.

The registry below lists every experiment with its command-line name. An
experiment whose module does not exist yet, or has no ``run``, is
*registered but not available*: :func:`get` raises
:class:`ExperimentNotAvailable` and the command line says so in one line.
Adding the module is all it takes to make it available.

Examples
--------
>>> from fastinit.experiments import matmul_chain, zw_stats
>>> r = zw_stats.run(ns=(10, 100), repeats=4, seed=0)
>>> r.table("per_n").columns[:3]
['n', 'verdict', 'repeats']
>>> import fastinit.experiments as fx
>>> fx.run("matmul-chain", n=16, steps=5).name
'matmul-chain'
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EXPERIMENTS",
    "ExperimentNotAvailable",
    "ExperimentResult",
    "ExperimentSpec",
    "Table",
    "available",
    "get",
    "names",
    "plot",
    "run",
]


@dataclass(frozen=True)
class ExperimentSpec:
    """One registered experiment.

    Attributes
    ----------
    name : str
        Command-line name (``fastinit matmul-chain``) and result name.
    module : str
        Module in this package that implements it.
    number : int
        Position in the report (the numbering of issue 5).
    title : str
    seed_note : str
        The seed note(s) it reproduces.
    """

    name: str
    module: str
    number: int
    title: str
    seed_note: str


_SPECS = (
    ExperimentSpec("deep-stack", "deep_stack", 1, "Init x activation through a deep stack", "001"),
    ExperimentSpec("matmul-chain", "matmul_chain", 2, "A hundred matrix products", "003"),
    ExperimentSpec("gradients", "gradients", 3, "Vanishing gradients by activation", "000"),
    ExperimentSpec("zw-stats", "zw_stats", 4, "Z = W.X statistics", "002"),
    ExperimentSpec("symmetry", "symmetry", 5, "Zero-init symmetry", "000"),
    ExperimentSpec("depth-sweep", "depth_sweep", 6, "Depth sweep of the deep-stack verdicts", "001"),
)

#: Registered experiments by command-line name, in report order.
EXPERIMENTS = {s.name: s for s in _SPECS}


class ExperimentNotAvailable(RuntimeError):
    """A registered experiment whose implementation is not in this build."""


def names():
    """Command-line names of all registered experiments, in report order."""
    return list(EXPERIMENTS)


def _spec(name):
    key = str(name).replace("_", "-")
    if key not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; valid: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[key]


def get(name):
    """The module implementing experiment `name` (``"matmul-chain"`` or ``"matmul_chain"``).

    Raises
    ------
    ValueError
        If `name` is not registered (the message lists the valid names).
    ExperimentNotAvailable
        If it is registered but its module, or the module's ``run``, is missing.
    """
    spec = _spec(name)
    full = f"{__name__}.{spec.module}"
    try:
        mod = importlib.import_module(full)
    except ModuleNotFoundError as exc:
        # Only the module itself missing means "not available"; a missing
        # dependency inside it is a real error and propagates.
        if exc.name != full:
            raise
        raise ExperimentNotAvailable(
            f"experiment {spec.name!r} ({spec.title}) is not available yet in this build of fastinit"
        ) from None
    if not callable(getattr(mod, "run", None)):
        raise ExperimentNotAvailable(
            f"experiment {spec.name!r} ({spec.title}) is not available yet: {full} has no run()"
        )
    return mod


def __getattr__(attr):
    # fastinit.experiments.matmul_chain works after a plain
    # ``import fastinit.experiments``; a module not written yet is no attribute.
    for spec in EXPERIMENTS.values():
        if spec.module == attr:
            try:
                return get(spec.name)
            except ExperimentNotAvailable as exc:
                raise AttributeError(str(exc)) from None
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def available(name):
    """True if experiment `name` is implemented in this build."""
    try:
        get(name)
    except ExperimentNotAvailable:
        return False
    return True


def run(name, **settings):
    """Run experiment `name` with `settings` (its ``run`` keyword arguments)."""
    return get(name).run(**settings)


def plot(result, **kwargs):
    """Figures of a result, by file stem (needs matplotlib)."""
    return get(result.name).plot(result, **kwargs)


def accepted_settings(name):
    """Names of the keyword arguments that experiment `name`'s ``run`` takes."""
    sig = inspect.signature(get(name).run)
    return [p.name for p in sig.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


# --------------------------------------------------------------------- results


@dataclass
class Table:
    """A named table: column names, rows of values, caption and units.

    Attributes
    ----------
    columns : list of str
    rows : list of list
        Values are Python/NumPy scalars, strings or None.
    caption : str
    units : dict
        Column name -> unit text (``"steps"``, ``"dimensionless"``).
    """

    columns: list
    rows: list
    caption: str = ""
    units: dict = field(default_factory=dict)

    def __post_init__(self):
        self.columns = list(self.columns)
        self.rows = [list(r) for r in self.rows]
        for r in self.rows:
            if len(r) != len(self.columns):
                raise ValueError(f"row of {len(r)} values for {len(self.columns)} columns: {r!r}")

    def column(self, name):
        """The values of one column, as a list."""
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def records(self):
        """Rows as dicts keyed by column name."""
        return [dict(zip(self.columns, r)) for r in self.rows]

    def to_dict(self):
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows],
                "caption": self.caption, "units": dict(self.units)}

    @classmethod
    def from_dict(cls, d):
        return cls(d["columns"], d["rows"], d.get("caption", ""), d.get("units", {}))


@dataclass
class ExperimentResult:
    """What an experiment returns: settings, tables, verdicts and plot data.

    Attributes
    ----------
    name : str
        Registry name (``"matmul-chain"``).
    title : str
    settings : dict
        Every argument of ``run`` as resolved (defaults filled in), so that
        ``run(**settings)`` repeats the result.
    tables : dict of str -> Table
        The first one is the summary shown in the terminal and the report.
    verdicts : list of dict
        One per case: ``{"case": str, "verdict": str, "reason": str}``.
    criteria : str
        How the verdicts are decided, in words (shown with them).
    description : str
        What the experiment shows, a short paragraph.
    data : dict
        Arrays and numbers for the figures (JSON-able through
        :func:`fastinit._report.to_jsonable`).
    """

    name: str
    title: str
    settings: dict
    tables: dict
    verdicts: list = field(default_factory=list)
    criteria: str = ""
    description: str = ""
    data: dict = field(default_factory=dict)

    @property
    def summary(self):
        """The summary table (the first table)."""
        return next(iter(self.tables.values()))

    def table(self, name):
        """The table called `name`; KeyError lists the valid names."""
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no table {name!r}; tables: {', '.join(self.tables)}") from None

    def to_dict(self):
        """Plain-JSON form (see :func:`fastinit._report.to_jsonable`)."""
        from fastinit._report import to_jsonable

        return to_jsonable({
            "name": self.name,
            "title": self.title,
            "settings": self.settings,
            "tables": {k: t.to_dict() for k, t in self.tables.items()},
            # JSON files are written with sorted keys: keep the order (the first is the summary)
            "table_order": list(self.tables),
            "verdicts": self.verdicts,
            "criteria": self.criteria,
            "description": self.description,
            "data": self.data,
        })

    def to_json(self):
        """Deterministic strict JSON text of :meth:`to_dict`."""
        from fastinit._report import json_dumps

        return json_dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output (non-finite floats restored)."""
        from fastinit._report import from_jsonable

        d = from_jsonable(d)
        return cls(
            name=d["name"], title=d["title"], settings=d["settings"],
            tables={k: Table.from_dict(d["tables"][k])
                    for k in d.get("table_order", list(d["tables"]))},
            verdicts=d.get("verdicts", []), criteria=d.get("criteria", ""),
            description=d.get("description", ""), data=d.get("data", {}),
        )

    def replace(self, **changes):
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _public_settings(settings: dict[str, Any]):
    # `progress` is a callback, not a setting worth storing.
    return {k: v for k, v in settings.items() if k != "progress"}

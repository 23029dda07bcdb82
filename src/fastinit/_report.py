"""Report output: self-contained HTML, reproducible PNG figures, JSON and CSV.

Everything ``fastinit report`` and the experiment subcommands write goes
through this module:

- :class:`Report` builds one HTML page with no outside references (CSS
  inline, figures as base64 PNG ``data:`` URIs) and colours verdict cells.
- :func:`save_figure` / :func:`figure_bytes` save matplotlib figures so that
  identical runs give identical bytes (no ``Software`` tag in PNG, fixed
  ``svg.hashsalt``, no dates in SVG/PDF), and :func:`plot_context` fixes the
  style so a user's matplotlibrc cannot change them.
- :func:`provenance` collects what produced a result (fastinit version,
  SIMD path, threads, BLAS, Python, NumPy, platform).
- :func:`write_json` / :func:`load_results` store results with non-finite
  floats as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (strict
  JSON has no such numbers) and :func:`write_csv` writes tables.
- :func:`init_color` gives each init scheme the same colour in every figure.

All files are written atomically (temporary file, then rename), so an
interrupted run never leaves a half-written file behind.

matplotlib is optional (the ``plot`` extra); only the figure functions need it.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import datetime as _dt
import html
import io
import json
import math
import os
import platform
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "INIT_COLORS",
    "VERDICT_COLORS",
    "Report",
    "figure_bytes",
    "format_table",
    "format_value",
    "have_matplotlib",
    "init_color",
    "load_results",
    "new_figure",
    "plot_context",
    "provenance",
    "require_matplotlib",
    "save_figure",
    "to_jsonable",
    "validate_results",
    "write_bytes_atomic",
    "write_csv",
    "write_json",
]

# --------------------------------------------------------------------- colours

# One colour per init scheme, the same in every figure (colour-blind-safe
# Okabe-Ito palette). Canonical names first; aliases map onto them.
INIT_COLORS = {
    "small": "#0072B2",   # 0.01 * randn
    "randn": "#D55E00",   # 1.0 * randn
    "lecun": "#009E73",   # randn / sqrt(fan_in): the CS231n lecture's "Xavier"
    "he": "#CC79A7",      # randn / sqrt(fan_in / 2): Kaiming
    "glorot": "#E69F00",  # randn * sqrt(2 / (fan_in + fan_out))
    "zero": "#000000",
    "constant": "#999999",
    "random": "#56B4E9",
    "orthogonal": "#F0E442",
}
_INIT_ALIASES = {
    "0.01*randn": "small", "randn*0.01": "small", "normal_0.01": "small",
    "1.0*randn": "randn", "normal": "randn", "standard_normal": "randn",
    "xavier": "lecun",  # as in the lecture (seed 001): randn / sqrt(fan_in)
    "lecun_normal": "lecun", "randn/sqrt(n)": "lecun",
    "kaiming": "he", "kaiming_normal": "he", "he_normal": "he",
    "glorot_normal": "glorot", "xavier_normal": "glorot", "xavier_glorot": "glorot",
    "zeros": "zero",
}
# Colours for names not listed, picked by a stable hash of the name.
_FALLBACK = ["#332288", "#117733", "#44AA99", "#88CCEE", "#DDCC77", "#AA4499", "#882255", "#661100"]

# Verdict -> (background, text) for HTML cells and heat maps.
VERDICT_COLORS = {
    "healthy": ("#c8e6c9", "#1b5e20"),
    "agrees": ("#c8e6c9", "#1b5e20"),
    "stable": ("#c8e6c9", "#1b5e20"),
    "vanishing": ("#bbdefb", "#0d47a1"),
    "underflow": ("#90caf9", "#0d47a1"),
    "exploding": ("#ffcdd2", "#b71c1c"),
    "overflow": ("#ef9a9a", "#7f0000"),
    "saturated": ("#ffe0b2", "#e65100"),
    "dead": ("#e0e0e0", "#212121"),
    "symmetric": ("#ffe0b2", "#e65100"),
    "disagrees": ("#ffcdd2", "#b71c1c"),
}
_ANSI = {"healthy": "32", "agrees": "32", "stable": "32", "vanishing": "34", "underflow": "34",
         "exploding": "31", "overflow": "31", "disagrees": "31", "saturated": "33",
         "symmetric": "33", "dead": "90"}


def _canonical_init(name):
    key = str(name).strip().lower().replace(" ", "")
    return _INIT_ALIASES.get(key, key)


def init_color(name):
    """Colour (``#rrggbb``) of an init scheme, the same in every figure.

    Known schemes and their aliases (``"kaiming"`` is ``"he"``, the lecture's
    ``"xavier"`` is ``"lecun"``) have fixed colours; any other name gets a
    colour chosen by a stable hash of the name, so it too never changes.
    """
    key = _canonical_init(name)
    if key in INIT_COLORS:
        return INIT_COLORS[key]
    return _FALLBACK[zlib.crc32(key.encode()) % len(_FALLBACK)]


# --------------------------------------------------------------------- JSON

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float_json(x):
    x = float(x)
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def to_jsonable(obj):
    """Convert results to plain JSON types.

    NumPy arrays become nested lists, NumPy scalars Python numbers, dtypes
    their names, paths strings, tuples lists, dataclasses and objects with a
    ``to_dict()`` method dicts; non-finite floats become ``"NaN"``,
    ``"Infinity"`` or ``"-Infinity"``.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _float_json(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.dtype) or (isinstance(obj, type) and issubclass(obj, np.generic)):
        return np.dtype(obj).name
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def from_jsonable(obj):
    """Inverse of the non-finite float encoding of :func:`to_jsonable`."""
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {k: from_jsonable(v) for k, v in obj.items()}
    return obj


def json_dumps(obj):
    """Deterministic, strict JSON text (sorted keys, 2-space indent)."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path, obj):
    """Write `obj` as strict JSON (see :func:`to_jsonable`), atomically."""
    write_bytes_atomic(path, json_dumps(obj).encode("utf-8"))


def load_results(path):
    """Read a results.json written by fastinit, non-finite floats restored."""
    with open(path, encoding="utf-8") as fh:
        return from_jsonable(json.load(fh))


RESULTS_SCHEMA = "fastinit.results/1"


def _need(cond, where, what):
    if not cond:
        raise ValueError(f"results schema: {where}: {what}")


def _check_fields(obj, where, fields):
    _need(isinstance(obj, dict), where, "expected an object")
    for key, types in fields.items():
        _need(key in obj, where, f"missing {key!r}")
        _need(isinstance(obj[key], types), f"{where}.{key}",
              f"expected {' or '.join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))}, "
              f"got {type(obj[key]).__name__}")


def validate_results(doc):
    """Check a results.json document (as loaded by ``json.load``) against schema 1.

    The document is ``{"schema", "provenance", "experiments", "failed"}``;
    each experiment holds ``name``, ``title``, ``settings``, ``tables``
    (``columns``, ``rows`` of as many cells, ``caption``, ``units``),
    ``verdicts`` (``case``, ``verdict``, ``reason``), ``criteria``,
    ``description`` and ``data``. Cells are numbers, strings (including
    ``"NaN"``/``"Infinity"``), booleans or null.

    Raises
    ------
    ValueError
        Naming the first place where the document differs.
    """
    _check_fields(doc, "$", {"schema": str, "provenance": dict, "experiments": dict, "failed": dict})
    _need(doc["schema"] == RESULTS_SCHEMA, "$.schema", f"expected {RESULTS_SCHEMA!r}, got {doc['schema']!r}")
    _check_fields(doc["provenance"], "$.provenance", {
        "fastinit_version": str, "fastinit_config": dict, "numpy_version": str, "blas": dict,
        "python": str, "platform": str, "created": str, "settings": dict})
    for name, exp in doc["experiments"].items():
        where = f"$.experiments[{name!r}]"
        _check_fields(exp, where, {"name": str, "title": str, "settings": dict, "tables": dict,
                                   "verdicts": list, "criteria": str, "description": str, "data": dict})
        _need(exp["name"] == name, where, f"name {exp['name']!r} differs from its key")
        _need(len(exp["tables"]) > 0, where, "no tables")
        for tname, t in exp["tables"].items():
            tw = f"{where}.tables[{tname!r}]"
            _check_fields(t, tw, {"columns": list, "rows": list, "caption": str, "units": dict})
            _need(all(isinstance(c, str) for c in t["columns"]), tw, "column names must be strings")
            for i, row in enumerate(t["rows"]):
                _need(isinstance(row, list) and len(row) == len(t["columns"]), f"{tw}.rows[{i}]",
                      f"expected {len(t['columns'])} cells")
                for cell in row:
                    _need(cell is None or isinstance(cell, (int, float, str, bool)), f"{tw}.rows[{i}]",
                          f"cell of type {type(cell).__name__}")
        for i, v in enumerate(exp["verdicts"]):
            _check_fields(v, f"{where}.verdicts[{i}]", {"case": str, "verdict": str, "reason": str})
    for name, msg in doc["failed"].items():
        _need(isinstance(msg, str), f"$.failed[{name!r}]", "expected a string")


# --------------------------------------------------------------------- files


def write_bytes_atomic(path, data):
    """Write `data` to `path` through a temporary file and a rename.

    An interruption leaves either the old file or the new one, never a part.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _nonfinite_text(x):
    """'nan', 'inf' or '-inf' for a non-finite float, else None."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return None


def _csv_cell(v):
    if isinstance(v, (float, np.floating)):
        v = float(v)
        # repr: the shortest text that reads back to the same float
        return _nonfinite_text(v) or repr(v)
    if v is None:
        return ""
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return str(v)


def csv_text(columns, rows):
    """A table as CSV text (header line, then rows; floats round-trip)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(columns))
    for row in rows:
        w.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def write_csv(path, columns, rows):
    """Write a table to a CSV file, atomically. Floats are written exactly."""
    write_bytes_atomic(path, csv_text(columns, rows).encode("utf-8"))


# --------------------------------------------------------------------- provenance


def _created_utc():
    # SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date for byte-equal reruns.
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        ts = _dt.datetime.fromtimestamp(int(sde), _dt.timezone.utc) if sde else _dt.datetime.now(_dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        ts = _dt.datetime.now(_dt.timezone.utc)
    return ts.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _numpy_blas():
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration") if blas.get(k)}
    except Exception:  # older NumPy or unusual builds: best effort only
        return {}


def _threadpool_info():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return [
        {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
        for p in threadpoolctl.threadpool_info()
    ]


def _fastinit_config():
    try:
        import fastinit
    except ImportError as exc:  # pragma: no cover - only without a build
        return None, {"error": f"fastinit not importable: {exc}"}
    version = getattr(fastinit, "__version__", "unknown")
    getter = getattr(fastinit, "_config_dict", None)
    if getter is not None:
        try:
            return version, dict(getter())
        except Exception as exc:  # provenance must never stop a report
            return version, {"error": f"fastinit._config_dict() failed: {exc}"}
    return version, {"note": "fastinit._config_dict() not available; build facts unknown"}


def provenance(settings=None, *, command=None):
    """What produced a result: software versions, machine and settings.

    Parameters
    ----------
    settings : dict, optional
        The settings of the run (seed, dtype, threads, ...), stored as given.
    command : list of str, optional
        The command line, stored as one string.

    Returns
    -------
    dict
        ``fastinit_version``, ``fastinit_config`` (from
        ``fastinit._config_dict()`` where the build provides it: SIMD path,
        OpenMP, threads), ``numpy_version``, ``blas`` (NumPy's BLAS, which
        runs the ``@`` products), ``threadpools`` (threadpoolctl's view, if
        installed), ``python``, ``platform``, ``machine``, ``cpu_count``,
        ``created`` (UTC; ``SOURCE_DATE_EPOCH`` overrides it), ``command``
        and ``settings``.
    """
    version, config = _fastinit_config()
    out = {
        "fastinit_version": version,
        "fastinit_config": config,
        "numpy_version": np.__version__,
        "blas": _numpy_blas(),
        "threadpools": _threadpool_info(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "created": _created_utc(),
        "command": None if command is None else " ".join(command),
        "settings": dict(settings or {}),
    }
    try:
        import matplotlib

        out["matplotlib_version"] = matplotlib.__version__
    except ImportError:
        out["matplotlib_version"] = None
    return out


# --------------------------------------------------------------------- figures


def have_matplotlib():
    """True if matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib():
    """Import matplotlib or raise an ImportError that says how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "plots need matplotlib, which is not installed: pip install 'fastinit[plot]'"
        ) from None
    return matplotlib


_STYLE = {
    "svg.hashsalt": "fastinit",  # fixed ids in SVG output
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.max_open_warning": 0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": "small",
    "axes.titlesize": "medium",
}


@contextlib.contextmanager
def plot_context():
    """Matplotlib's default style plus fastinit's settings, whatever the user's rc.

    Create *and* save figures inside it: some settings apply when an artist is
    made, others when the figure is drawn.
    """
    mpl = require_matplotlib()
    import matplotlib.style

    with matplotlib.style.context("default"), mpl.rc_context(_STYLE):
        yield


def new_figure(nrows=1, ncols=1, *, figsize=None, **subplots_kw):
    """A figure and its axes, without pyplot (no global state, no GUI).

    Returns ``(fig, axes)`` like ``plt.subplots``; the figure renders with
    Agg when saved and is freed when no longer referenced.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    if figsize is None:
        figsize = (4.2 * ncols + 0.6, 3.2 * nrows + 0.4)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=subplots_kw.pop("squeeze", True), **subplots_kw)
    return fig, axes


_NO_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


def figure_bytes(fig, fmt="png", *, dpi=100):
    """Render `fig` to bytes that depend only on the figure's content.

    PNG is written without its ``Software`` tag, SVG with a fixed hash salt
    and no date, PDF without dates and producer.
    """
    require_matplotlib()
    import matplotlib

    if fmt not in _NO_METADATA:
        raise ValueError(f"unknown figure format {fmt!r}; valid: {', '.join(_NO_METADATA)}")
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "fastinit"}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=dict(_NO_METADATA[fmt]))
    return buf.getvalue()


def save_figure(fig, path, *, dpi=100):
    """Save `fig` to `path` (format from the suffix: .png, .svg, .pdf) reproducibly.

    Returns the bytes written, e.g. to embed the PNG in a :class:`Report`.
    """
    fmt = Path(path).suffix.lower().lstrip(".") or "png"
    data = figure_bytes(fig, fmt, dpi=dpi)
    write_bytes_atomic(path, data)
    return data


# --------------------------------------------------------------------- text tables


def format_value(v, digits=4):
    """A table cell as text: floats with `digits` significant digits."""
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if x == 0:
            return "0"
        return _nonfinite_text(x) or f"{x:.{digits}g}"
    return str(v)


def format_table(columns, rows, *, color=False, max_rows=None):
    """A plain-text table with aligned columns for the terminal.

    Verdict words are coloured with ANSI codes when `color` is true; at most
    `max_rows` rows are shown, with a line saying how many were left out.
    """
    rows = list(rows)
    shown = rows if max_rows is None else rows[:max_rows]
    cells = [[format_value(v) for v in r] for r in shown]
    widths = [len(str(c)) for c in columns]
    for r in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, r)]

    def is_num(s):
        try:
            float(s)
        except ValueError:
            return s in ("-", "nan", "inf", "-inf")
        return True

    def fmt_row(r):
        out = []
        for c, w in zip(r, widths):
            pad = c.rjust(w) if is_num(c) else c.ljust(w)
            if color and c in _ANSI:
                pad = f"\033[{_ANSI[c]}m{pad}\033[0m"
            out.append(pad)
        return "  ".join(out).rstrip()

    lines = [fmt_row([str(c) for c in columns]), "  ".join("-" * w for w in widths)]
    lines += [fmt_row(r) for r in cells]
    if len(shown) < len(rows):
        lines.append(f"... {len(rows) - len(shown)} more rows")
    return "\n".join(lines)


# --------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
.sub{color:#666;margin-top:0}
.tw{overflow-x:auto;margin:.8em 0}table{border-collapse:collapse;font-size:.86em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
.prov td:first-child{font-weight:600;white-space:nowrap}
.criteria{background:#f7f7f7;border-left:4px solid #999;padding:.5em .8em}
.note{color:#8a6d3b;background:#fcf8e3;padding:.5em .8em}
details{margin:.6em 0}summary{cursor:pointer;color:#0645ad}
nav ul{columns:2}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto}
"""


def _verdict_css():
    return "".join(f"td.v-{k}{{background:{bg};color:{fg};font-weight:600}}" for k, (bg, fg) in VERDICT_COLORS.items())


def _slug(text):
    s = "".join(ch.lower() if ch.isalnum() else "-" for ch in str(text))
    return "-".join(p for p in s.split("-") if p) or "section"


def _table_html(columns, rows, *, caption=None, verdict_columns=("verdict",), max_rows=None):
    vcols = {i for i, c in enumerate(columns) if str(c) in set(verdict_columns)}
    rows = list(rows)
    shown = rows if max_rows is None else rows[:max_rows]
    out = ['<div class="tw"><table>']
    if caption:
        out.append(f"<caption>{html.escape(str(caption))}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr></thead><tbody>")
    for r in shown:
        tds = []
        for i, v in enumerate(r):
            text = format_value(v)
            cls = []
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
                cls.append("num")
            if i in vcols and str(v) in VERDICT_COLORS:
                cls.append(f"v-{v}")
            attr = f' class="{" ".join(cls)}"' if cls else ""
            tds.append(f"<td{attr}>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</tbody></table></div>")
    if len(shown) < len(rows):
        out.append(f"<p class=\"sub\">{len(rows) - len(shown)} more rows in the CSV file and results.json.</p>")
    return "".join(out)


class Section:
    """A part of a :class:`Report`; add blocks in the order they should show."""

    def __init__(self, title, anchor):
        self.title = title
        self.anchor = anchor
        self._blocks = []

    def text(self, text):
        """One or more paragraphs of plain text (blank lines separate them)."""
        for para in str(text).split("\n\n"):
            if para.strip():
                self._blocks.append(f"<p>{html.escape(para.strip())}</p>")
        return self

    def criteria(self, text):
        """How verdicts were decided, set off from the text."""
        self._blocks.append(f'<div class="criteria"><b>Criterion.</b> {html.escape(str(text))}</div>')
        return self

    def note(self, text):
        """A highlighted remark (something skipped or unavailable)."""
        self._blocks.append(f'<p class="note">{html.escape(str(text))}</p>')
        return self

    def code(self, text):
        """Preformatted text."""
        self._blocks.append(f"<pre>{html.escape(str(text))}</pre>")
        return self

    def table(self, columns, rows, *, caption=None, verdict_columns=("verdict",), max_rows=None,
              collapsed=False):
        """A table; cells of `verdict_columns` are coloured by verdict.

        With `collapsed`, the table sits in a ``<details>`` element that the
        reader opens; `max_rows` limits the rows shown.
        """
        t = _table_html(columns, rows, caption=None if collapsed else caption,
                        verdict_columns=verdict_columns, max_rows=max_rows)
        if collapsed:
            t = f"<details><summary>{html.escape(str(caption or 'table'))}</summary>{t}</details>"
        self._blocks.append(t)
        return self

    def figure(self, png, caption=None, *, alt=None):
        """A PNG figure (bytes) embedded as a base64 ``data:`` URI."""
        if not bytes(png[:8]) == b"\x89PNG\r\n\x1a\n":
            raise ValueError("figure() expects PNG bytes")
        b64 = base64.b64encode(bytes(png)).decode("ascii")
        alt = html.escape(str(alt or caption or "figure"), quote=True)
        cap = f"<figcaption>{html.escape(str(caption))}</figcaption>" if caption else ""
        self._blocks.append(f'<figure><img alt="{alt}" src="data:image/png;base64,{b64}">{cap}</figure>')
        return self

    def html(self):
        return f'<section id="{self.anchor}"><h2>{html.escape(str(self.title))}</h2>{"".join(self._blocks)}</section>'


class Report:
    """A self-contained HTML report: title, provenance, sections.

    Parameters
    ----------
    title : str
    subtitle : str, optional
    provenance : dict, optional
        As returned by :func:`provenance`; shown as a table near the top,
        with the full record in a collapsible block.

    Examples
    --------
    >>> r = Report("fastinit report")
    >>> s = r.section("Z = W.X")
    >>> _ = s.text("var(Z) = n var(W) var(X)").table(["n", "verdict"], [[10, "agrees"]])
    >>> "<table>" in r.to_html()
    True
    """

    def __init__(self, title, subtitle=None, provenance=None):
        self.title = title
        self.subtitle = subtitle
        self.provenance = provenance
        self.sections = []
        self._anchors = set()

    def section(self, title):
        """Start a new section and return it."""
        base = anchor = _slug(title)
        k = 2
        while anchor in self._anchors:
            anchor, k = f"{base}-{k}", k + 1
        self._anchors.add(anchor)
        s = Section(title, anchor)
        self.sections.append(s)
        return s

    def _provenance_html(self):
        p = self.provenance
        if not p:
            return ""
        cfg = p.get("fastinit_config") or {}
        blas = p.get("blas") or {}
        items = [
            ("fastinit", p.get("fastinit_version")),
            ("SIMD path", cfg.get("simd") or cfg.get("simd_path") or cfg.get("SIMD")),
            ("OpenMP", cfg.get("openmp")),
            ("threads", (p.get("settings") or {}).get("threads") or cfg.get("default_threads")
             or cfg.get("threads")),
            ("BLAS (NumPy)", " ".join(str(blas[k]) for k in ("name", "version") if blas.get(k)) or None),
            ("NumPy", p.get("numpy_version")),
            ("matplotlib", p.get("matplotlib_version")),
            ("Python", p.get("python")),
            ("platform", p.get("platform")),
            ("CPUs", p.get("cpu_count")),
            ("seed", (p.get("settings") or {}).get("seed")),
            ("command", p.get("command")),
            ("created (UTC)", p.get("created")),
        ]
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in items if v is not None
        )
        full = html.escape(json.dumps(to_jsonable(p), indent=2, sort_keys=True, allow_nan=False))
        return (f'<h2 id="provenance">Provenance</h2><table class="prov">{rows}</table>'
                f"<details><summary>full provenance record</summary><pre>{full}</pre></details>")

    def to_html(self):
        """The whole page as a string."""
        nav = ""
        if len(self.sections) > 1:
            nav = "<nav><ul>" + "".join(
                f'<li><a href="#{s.anchor}">{html.escape(str(s.title))}</a></li>' for s in self.sections
            ) + "</ul></nav>"
        sub = f'<p class="sub">{html.escape(str(self.subtitle))}</p>' if self.subtitle else ""
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(str(self.title))}</title><style>{_CSS}{_verdict_css()}</style></head><body>"
            f"<h1>{html.escape(str(self.title))}</h1>{sub}{nav}"
            + "".join(s.html() for s in self.sections)
            + self._provenance_html()
            + "</body></html>\n"
        )

    def write(self, path):
        """Write the page to `path` (UTF-8), atomically."""
        write_bytes_atomic(path, self.to_html().encode("utf-8"))

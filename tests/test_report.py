"""Tests of fastinit._report: HTML, figures, provenance, JSON/CSV, colours."""

import base64
import csv
import io
import json
import math
import re

import numpy as np
import pytest

import fastinit
from fastinit import _report

# ---------------------------------------------------------------- colours


def test_init_colors_fixed_and_aliases():
    assert _report.init_color("he") == _report.init_color("kaiming") == _report.init_color("He_Normal")
    assert _report.init_color("lecun") == _report.init_color("xavier")  # the lecture's "Xavier"
    assert _report.init_color("glorot") == _report.init_color("xavier_normal")
    assert _report.init_color("small") == _report.init_color("0.01*randn")
    known = [_report.init_color(k) for k in ("small", "randn", "lecun", "he", "glorot")]
    assert len(set(known)) == 5
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", c) for c in known)


def test_unknown_init_color_is_stable():
    c = _report.init_color("my_custom_init")
    assert c == _report.init_color("my_custom_init")
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", c)


# ---------------------------------------------------------------- JSON / CSV


def test_to_jsonable_types():
    obj = {"a": np.float32(0.5), "b": np.int16(3), "c": np.array([[1.0, np.nan]]), "d": (1, 2),
           "e": np.dtype("float32"), "f": np.float64, "g": np.bool_(True), "h": [np.inf, -np.inf], 1: None}
    got = _report.to_jsonable(obj)
    assert got == {"a": 0.5, "b": 3, "c": [[1.0, "NaN"]], "d": [1, 2], "e": "float32", "f": "float64",
                   "g": True, "h": ["Infinity", "-Infinity"], "1": None}
    json.dumps(got, allow_nan=False)
    with pytest.raises(TypeError, match="not JSON serializable"):
        _report.to_jsonable(object())


def test_write_and_load_results_roundtrip(tmp_path):
    p = tmp_path / "r.json"
    _report.write_json(p, {"x": [1.5, np.nan, np.inf], "s": "text"})
    text = p.read_text()
    assert "NaN," not in text and text.endswith("\n")
    back = _report.load_results(p)
    assert back["x"][0] == 1.5 and math.isnan(back["x"][1]) and back["x"][2] == math.inf
    assert back["s"] == "text"
    # deterministic text: sorted keys
    _report.write_json(tmp_path / "r2.json", {"s": "text", "x": [1.5, np.nan, np.inf]})
    assert (tmp_path / "r2.json").read_text() == text


def test_csv_floats_roundtrip_exactly(tmp_path):
    vals = [0.1, 1 / 3, 1e-300, -2.5e300, np.float32(0.1), math.nan, math.inf, None, 7, "a,b"]
    p = tmp_path / "t.csv"
    _report.write_csv(p, ["v"], [[v] for v in vals])
    rows = list(csv.reader(io.StringIO(p.read_text())))
    assert rows[0] == ["v"]
    cells = [r[0] for r in rows[1:]]
    assert [float(c) for c in cells[:5]] == [0.1, 1 / 3, 1e-300, -2.5e300, float(np.float32(0.1))]
    assert cells[5:] == ["nan", "inf", "", "7", "a,b"]


def test_atomic_write_leaves_no_temp_files(tmp_path):
    _report.write_bytes_atomic(tmp_path / "a.bin", b"123")
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    with pytest.raises(OSError):
        _report.write_bytes_atomic(tmp_path / "missing" / "a.bin", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


# ---------------------------------------------------------------- provenance


def test_provenance_fields(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    p = _report.provenance({"seed": 3, "threads": 2}, command=["fastinit", "report"])
    assert p["fastinit_version"] == fastinit.__version__
    assert p["created"] == "2023-11-14T22:13:20Z"
    assert p["command"] == "fastinit report"
    assert p["settings"] == {"seed": 3, "threads": 2}
    assert p["numpy_version"] == np.__version__
    assert isinstance(p["blas"], dict)
    if hasattr(fastinit, "_config_dict"):
        assert p["fastinit_config"] == _report.to_jsonable(fastinit._config_dict())
    json.dumps(_report.to_jsonable(p), allow_nan=False)


def test_provenance_survives_a_failing_config(monkeypatch):
    def boom():
        raise RuntimeError("no config")

    monkeypatch.setattr(fastinit, "_config_dict", boom, raising=False)
    p = _report.provenance()
    assert "no config" in p["fastinit_config"]["error"]


# ---------------------------------------------------------------- text tables


def test_format_value_and_table():
    assert _report.format_value(None) == "-"
    assert _report.format_value(np.float64(1234.5678)) == "1235"
    assert _report.format_value(0.0) == "0"
    assert _report.format_value(np.nan) == "nan" and _report.format_value(-np.inf) == "-inf"
    assert _report.format_value(True) == "yes"
    t = _report.format_table(["name", "value", "verdict"], [["a", 1.5, "healthy"], ["bb", 22, "overflow"]])
    lines = t.splitlines()
    assert lines[0].split() == ["name", "value", "verdict"]
    assert lines[2].split() == ["a", "1.5", "healthy"] and "\033" not in t
    colored = _report.format_table(["verdict"], [["overflow"]], color=True)
    assert "\033[31m" in colored
    assert _report.format_table(["x"], [[i] for i in range(10)], max_rows=3).endswith("... 7 more rows")


# ---------------------------------------------------------------- figures


def _fig():
    fig, ax = _report.new_figure()
    ax.plot([0, 1, 2], [1, 4, 2], color=_report.init_color("he"), label="he")
    ax.set_xlabel("layer")
    ax.set_ylabel("std")
    ax.legend()
    return fig


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_figure_bytes_reproducible(fmt, magic):
    pytest.importorskip("matplotlib")
    with _report.plot_context():
        a = _report.figure_bytes(_fig(), fmt)
    with _report.plot_context():
        b = _report.figure_bytes(_fig(), fmt)
    assert a.startswith(magic)
    assert a == b
    if fmt == "png":
        assert b"Software" not in a and b"matplotlib" not in a.lower()


def test_plot_context_ignores_user_rc():
    mpl = pytest.importorskip("matplotlib")
    with _report.plot_context():
        ref = _report.figure_bytes(_fig())
    with mpl.rc_context({"lines.linewidth": 7.0, "axes.facecolor": "yellow"}):
        with _report.plot_context():
            got = _report.figure_bytes(_fig())
    assert got == ref


def test_save_figure_and_bad_format(tmp_path):
    pytest.importorskip("matplotlib")
    with _report.plot_context():
        fig = _fig()
        data = _report.save_figure(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes() == data
    with pytest.raises(ValueError, match="unknown figure format 'gif'"):
        _report.figure_bytes(fig, "gif")


# ---------------------------------------------------------------- HTML


def test_report_html_self_contained_and_escaped(tmp_path):
    pytest.importorskip("matplotlib")
    with _report.plot_context():
        png = _report.figure_bytes(_fig())
    prov = _report.provenance({"seed": 1})
    rep = _report.Report("fastinit <report>", subtitle="sub & title", provenance=prov)
    s = rep.section("Deep stack")
    s.text("first <b>para</b>\n\nsecond para").criteria("std < 1e-3: vanishing")
    s.table(["init", "std", "verdict"], [["he", 0.5, "healthy"], ["small", 1e-9, "vanishing"], ["x", 1, "odd"]],
            caption="cap")
    s.figure(png, caption="figure one")
    s.table(["a"], [[i] for i in range(5)], caption="long", collapsed=True, max_rows=2)
    rep.section("Deep stack")  # same title: distinct anchor
    rep.write(tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "fastinit &lt;report&gt;" in html and "first &lt;b&gt;para&lt;/b&gt;" in html
    assert '<td class="v-healthy">healthy</td>' in html and '<td class="v-vanishing">vanishing</td>' in html
    assert "<td>odd</td>" in html
    assert 'id="deep-stack"' in html and 'id="deep-stack-2"' in html
    assert "<details><summary>long</summary>" in html and "3 more rows" in html
    # self-contained: the only src attributes are data: URIs, no external links
    assert re.findall(r'src="(?!data:)', html) == []
    assert "<link" not in html and "http://" not in html
    m = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert base64.b64decode(m.group(1)) == png
    assert "Provenance" in html and fastinit.__version__ in html


def test_report_rejects_non_png():
    s = _report.Report("t").section("s")
    with pytest.raises(ValueError, match="expects PNG bytes"):
        s.figure(b"GIF89a....")


# ---------------------------------------------------------------- schema


def _doc():
    return {
        "schema": _report.RESULTS_SCHEMA,
        "provenance": _report.to_jsonable(_report.provenance({"seed": 0})),
        "experiments": {"zw-stats": {
            "name": "zw-stats", "title": "t", "settings": {}, "criteria": "", "description": "", "data": {},
            "tables": {"t": {"columns": ["a", "b"], "rows": [[1, "NaN"]], "caption": "", "units": {}}},
            "verdicts": [{"case": "n=1", "verdict": "agrees", "reason": "r"}]}},
        "failed": {},
    }


def test_validate_results_accepts_a_good_document():
    _report.validate_results(_doc())


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.update(schema="other/2"), r"\$\.schema: expected"),
        (lambda d: d.pop("failed"), "missing 'failed'"),
        (lambda d: d["provenance"].pop("fastinit_version"), r"\$\.provenance: missing 'fastinit_version'"),
        (lambda d: d["experiments"]["zw-stats"].update(name="x"), "differs from its key"),
        (lambda d: d["experiments"]["zw-stats"]["tables"]["t"]["rows"].append([1]), r"rows\[1\]: expected 2 cells"),
        (lambda d: d["experiments"]["zw-stats"]["tables"]["t"]["rows"].append([1, {}]), "cell of type dict"),
        (lambda d: d["experiments"]["zw-stats"]["verdicts"][0].pop("reason"), "missing 'reason'"),
        (lambda d: d["experiments"]["zw-stats"].update(tables={}), "no tables"),
    ],
)
def test_validate_results_rejects(mutate, match):
    d = _doc()
    mutate(d)
    with pytest.raises(ValueError, match=match):
        _report.validate_results(d)

"""The fastinit command line, run in subprocesses on small settings."""

import csv
import gzip
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import fastinit
import fastinit.experiments as fx
from fastinit import _report, cli

ENV = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", NO_COLOR="1")
ENV.pop("FASTINIT_TRACEBACK", None)


def fastinit_cmd(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "fastinit", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


def assert_one_line_error(p, code):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("fastinit: error: "), p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


def experiment_doc(out, name):
    doc = json.loads((out / "results.json").read_text())
    _report.validate_results(doc)
    return doc, doc["experiments"][name]


def same_as_library(entry, name, **kwargs):
    """results.json numbers equal a library call with the same arguments (after the same JSON encoding)."""
    lib = fx.run(name, **kwargs).to_dict()
    assert entry == json.loads(json.dumps(lib))
    # and the recorded settings rerun to the same result
    again = fx.run(name, **entry["settings"]).to_dict()
    assert json.loads(json.dumps(again)) == entry


# ---------------------------------------------------------------- basics


def test_help_and_version():
    p = fastinit_cmd("--help")
    assert p.returncode == 0
    for name in fx.names() + ["report", "theory", "bench", "data"]:
        assert name in p.stdout
    p = fastinit_cmd("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"fastinit {fastinit.__version__}"


def test_console_script_entry_point():
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="console_scripts") if ep.name == "fastinit"]
    assert len(eps) == 1 and eps[0].value == "fastinit.cli:main"


# ---------------------------------------------------------------- experiments


def test_matmul_chain_subcommand_writes_files_equal_to_library(tmp_path):
    out = tmp_path / "mc"
    p = fastinit_cmd("matmul-chain", "--n", 24, "--steps", 30, "--seed", 4, "--out", out)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # no progress bar when stderr is not a terminal
    assert "overflow" in p.stdout and "criterion:" in p.stdout
    names = sorted(f.name for f in out.iterdir())
    assert names == ["matmul_chain_path.csv", "matmul_chain_std.png", "matmul_chain_summary.csv",
                     "report.html", "results.json"]
    doc, entry = experiment_doc(out, "matmul-chain")
    assert doc["provenance"]["settings"]["seed"] == 4
    assert doc["provenance"]["command"].startswith("fastinit matmul-chain --n 24")
    same_as_library(entry, "matmul-chain", n=24, steps=30, seed=4)
    rows = list(csv.reader(io.StringIO((out / "matmul_chain_summary.csv").read_text())))
    assert rows[0] == entry["tables"]["summary"]["columns"] and len(rows) == 17


@pytest.mark.parametrize("name", [n for n in fx.names() if fx.available(n)])
def test_every_available_experiment_quick_in_a_subprocess(tmp_path, name):
    out = tmp_path / name
    p = fastinit_cmd(name, "--quick", "--seed", 3, "--out", out, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (out / "report.html").is_file() and list(out.glob("*.csv"))
    if _report.have_matplotlib():
        assert list(out.glob("*.png"))
    _, entry = experiment_doc(out, name)
    same_as_library(entry, name, seed=3, **getattr(fx.get(name), "QUICK", {}))
    assert entry["verdicts"] and entry["criteria"]


def test_quick_settings_yield_to_explicit_flags(tmp_path):
    p = fastinit_cmd("matmul-chain", "--quick", "--steps", 7, "--json")
    assert p.returncode == 0, p.stderr
    settings = json.loads(p.stdout)["experiments"]["matmul-chain"]["settings"]
    assert settings["steps"] == 7 and settings["n"] == fx.get("matmul-chain").QUICK["n"]


def test_zw_stats_subcommand_dtype_and_lists(tmp_path):
    out = tmp_path / "zw"
    p = fastinit_cmd("zw-stats", "--ns", "8,80", "--repeats", 5, "--rows", 3, "--cols", 2, "--gain", 1.5,
                     "--dtype", "float32", "--seed", 2, "--out", out)
    assert p.returncode == 0, p.stderr
    _, entry = experiment_doc(out, "zw-stats")
    same_as_library(entry, "zw-stats", ns=(8, 80), repeats=5, rows=3, cols=2, gain=1.5, dtype="float32", seed=2)


def test_json_and_csv_on_stdout():
    p = fastinit_cmd("zw-stats", "--ns", "10", "--repeats", 3, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    _report.validate_results(doc)
    same_as_library(doc["experiments"]["zw-stats"], "zw-stats", ns=[10], repeats=3)
    p = fastinit_cmd("matmul-chain", "--n", 8, "--steps", 3, "--modes", "fresh", "--csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0][:3] == ["init", "mode", "dtype"] and len(rows) == 1 + 4 * 2


def test_threads_do_not_change_numbers():
    a = fastinit_cmd("matmul-chain", "--n", 16, "--steps", 5, "--threads", 1, "--json")
    b = fastinit_cmd("matmul-chain", "--n", 16, "--steps", 5, "--threads", 2, "--json")
    assert a.returncode == b.returncode == 0
    ea, eb = (json.loads(x.stdout)["experiments"]["matmul-chain"] for x in (a, b))
    assert ea == eb


# ---------------------------------------------------------------- report


def test_report_quick_files_schema_and_reproducible_bytes(tmp_path):
    runs = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        p = fastinit_cmd("report", "--quick", "--only", "matmul-chain,zw-stats", "--seed", 1, "--out", out)
        assert p.returncode == 0, p.stderr
        runs.append(out)
    out = runs[0]
    assert "== summary" in p.stdout and "report.html" in p.stdout
    files = sorted(f.name for f in out.iterdir())
    for name in ("report.html", "results.json", "matmul_chain_std.png", "zw_stats.png",
                 "matmul_chain_summary.csv", "zw_stats_per_n.csv", "zw_stats_samples.csv"):
        assert name in files
    doc = json.loads((out / "results.json").read_text())
    _report.validate_results(doc)
    assert list(doc["experiments"]) == ["matmul-chain", "zw-stats"]
    same_as_library(doc["experiments"]["matmul-chain"], "matmul-chain", seed=1, **fx.get("matmul-chain").QUICK)
    same_as_library(doc["experiments"]["zw-stats"], "zw-stats", seed=1, **fx.get("zw-stats").QUICK)
    # same seed, same bytes: figures, tables, and (with SOURCE_DATE_EPOCH) the whole report
    for name in files:
        a, b = (r / name for r in runs)
        if name != "results.json" and name != "report.html":
            assert a.read_bytes() == b.read_bytes(), name
    d0, d1 = (json.loads((r / "results.json").read_text()) for r in runs)
    for d in (d0, d1):
        d["provenance"].pop("elapsed_s")
        d["provenance"].pop("command")  # names the two --out folders
    assert d0 == d1
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "Provenance" in html


def test_report_notes_unavailable_experiments(tmp_path):
    p = fastinit_cmd("report", "--quick", "--out", tmp_path / "all", "--no-plots")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "all" / "results.json").read_text())
    _report.validate_results(doc)
    for name in fx.names():
        if fx.available(name):
            assert name in doc["experiments"]
        else:
            assert name not in doc["experiments"]
            assert f"experiment {name!r}" in p.stderr and "not available yet" in p.stderr
    assert not list((tmp_path / "all").glob("*.png"))


def test_report_only_unavailable_is_an_error(monkeypatch, capsys, tmp_path):
    spec = fx.ExperimentSpec("future-exp", "future_exp_module", 42, "A future experiment", "000")
    monkeypatch.setitem(fx.EXPERIMENTS, "future-exp", spec)
    assert cli.main(["report", "--only", "zw-stats,future-exp", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'future-exp'" in err[0] and "not available yet" in err[0]
    assert not (tmp_path / "o" / "results.json").exists()


def test_report_common_flags_reach_the_experiments(tmp_path):
    out = tmp_path / "f32"
    p = fastinit_cmd("report", "--quick", "--only", "matmul-chain,zw-stats", "--dtype", "float32",
                     "--seed", 7, "--no-plots", "--out", out)
    assert p.returncode == 0, p.stderr
    doc = json.loads((out / "results.json").read_text())
    mc, zw = doc["experiments"]["matmul-chain"], doc["experiments"]["zw-stats"]
    assert mc["settings"]["dtype"] == ["float32"] and zw["settings"]["dtype"] == "float32"
    assert mc["settings"]["seed"] == zw["settings"]["seed"] == 7
    assert doc["provenance"]["settings"]["quick"] is True


def test_report_json_mode(tmp_path):
    p = fastinit_cmd("report", "--quick", "--only", "zw-stats", "--json", "--out", tmp_path / "j")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc == json.loads((tmp_path / "j" / "results.json").read_text())


# ---------------------------------------------------------------- data


def idx_file(path, arr, gz=False):
    codes = {"u1": 0x08, "i4": 0x0C}
    blob = bytes([0, 0, codes[arr.dtype.kind + str(arr.dtype.itemsize)], arr.ndim])
    blob += b"".join(struct.pack(">I", s) for s in arr.shape) + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(blob) if gz else blob)


def test_data_digits():
    p = fastinit_cmd("data")
    assert p.returncode == 0, p.stderr
    assert "CC BY 4.0" in p.stdout and "1797" in p.stdout and "near_zero" in p.stdout
    p = fastinit_cmd("data", "--json")
    info = json.loads(p.stdout)
    assert info["n_samples"] == 1797
    assert info["normalization"]["train"]["mean_near_zero"] is True
    assert info["normalization"]["train"]["std_near_one"] is True


def test_data_mnist_and_idx(tmp_path):
    rng = np.random.default_rng(0)
    idx_file(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 4, 4), dtype=np.uint8), gz=True)
    idx_file(tmp_path / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 20, dtype=np.uint8), gz=True)
    p = fastinit_cmd("data", "--mnist", tmp_path, "--kind", "t10k", "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["images"] == 20 and info["pixels_per_image"] == 16
    p = fastinit_cmd("data", "--idx", tmp_path / "t10k-labels-idx1-ubyte.gz")
    assert p.returncode == 0 and "[20]" in p.stdout


def test_data_bad_files(tmp_path):
    line = assert_one_line_error(fastinit_cmd("data", "--mnist", tmp_path / "nowhere"), 1)
    assert "No such file or directory" in line
    line = assert_one_line_error(fastinit_cmd("data", "--mnist", tmp_path), 1)
    assert "train-images-idx3-ubyte" in line
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x02" + struct.pack(">II", 3, 3) + b"\x01")
    line = assert_one_line_error(fastinit_cmd("data", "--idx", tmp_path / "bad"), 1)
    assert "truncated IDX file" in line
    (tmp_path / "bad2").write_bytes(b"hello world, not idx")
    line = assert_one_line_error(fastinit_cmd("data", "--idx", tmp_path / "bad2"), 1)
    assert "not an IDX file" in line


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, needle",
    [
        (["nosuch"], "invalid choice: 'nosuch'"),
        ([], "the following arguments are required: COMMAND"),
        (["matmul-chain", "--inits", "randn,bogus"], "unknown init 'bogus'; valid: randn, small, lecun, he"),
        (["matmul-chain", "--modes", "never"], "unknown mode 'never'"),
        (["matmul-chain", "--n", "-5"], "negative dimensions are not allowed"),
        (["matmul-chain", "--steps", "0"], "must be >= 1"),
        (["matmul-chain", "--n", "abc"], "expected an integer, got 'abc'"),
        (["zw-stats", "--ns", "10,-3"], "negative dimensions are not allowed"),
        (["zw-stats", "--repeats", "1"], "must be >= 2"),
        (["zw-stats", "--gain", "nan"], "must be finite"),
        (["zw-stats", "--dtype", "int32"], "invalid choice: 'int32'"),
        (["zw-stats", "--seed", "-1"], "argument --seed"),
        (["zw-stats", "--threads", "0"], "argument --threads"),
        (["zw-stats", "--json", "--csv"], "not allowed with argument"),
        (["zw-stats", "--bogus"], "unrecognized arguments: --bogus"),
        (["report", "--only", "matmul-chain,nope"], "unknown experiment 'nope'"),
        (["data", "--kind", "test"], "invalid choice: 'test'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args, needle):
    line = assert_one_line_error(fastinit_cmd(*args), 2)
    assert needle in line


def test_unwritable_out_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for cmd in (["zw-stats", "--ns", "4", "--repeats", "2"], ["report", "--quick"]):
        line = assert_one_line_error(fastinit_cmd(*cmd, "--out", blocker / "sub"), 2)
        assert "cannot write to --out" in line
    assert blocker.read_text() == "x"


def test_unavailable_commands_say_so(monkeypatch, capsys):
    # A registered experiment without a module, and a plug-in command without one.
    spec = fx.ExperimentSpec("future-exp", "future_exp_module", 42, "A future experiment", "000")
    monkeypatch.setitem(fx.EXPERIMENTS, "future-exp", spec)
    monkeypatch.setitem(cli.PLUGINS, "future-cmd", ("fastinit._no_such_plugin", "a future command"))
    assert cli.main(["future-exp", "--layers", "3", "--seed", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["fastinit: error: experiment 'future-exp' (A future experiment) is not available yet "
                   "in this build of fastinit"]
    assert cli.main(["future-cmd"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["fastinit: error: command 'future-cmd' is not available yet in this build of fastinit"]


def test_real_unavailable_commands_answer_in_one_line():
    names = [n for n in fx.names() if not fx.available(n)]
    names += [c for c, (mod, _) in cli.PLUGINS.items() if cli._load_optional(mod) is None]
    for name in names:
        line = assert_one_line_error(fastinit_cmd(name, "--seed", 1), 1)
        assert "not available yet" in line


def test_unexpected_error_is_one_line(monkeypatch, capsys):
    def broken(**kw):
        raise KeyError("boom")

    monkeypatch.setattr(fx.get("zw-stats"), "run", broken)
    assert cli.main(["zw-stats", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fastinit: error: internal error (KeyError)")
    monkeypatch.setenv("FASTINIT_TRACEBACK", "1")
    with pytest.raises(KeyError):
        cli.main(["zw-stats", "-q"])


# ---------------------------------------------------------------- Ctrl-C and progress


@pytest.mark.parametrize("args", [
    ["matmul-chain", "--n", "600", "--steps", "1000000", "--modes", "fresh"],
    # inside the deep-stack engine: one simulate of 200,000 layers
    ["depth-sweep", "--depths", "200000", "--width", "64", "--batch", "64", "--inits", "he",
     "--activations", "relu"],
    # inside the symmetry experiment's training loop
    ["symmetry", "--steps", "1000000"],
])
def test_ctrl_c_exits_130_with_one_line(tmp_path, args):
    proc = subprocess.Popen([sys.executable, "-m", "fastinit", *args, "--out", str(tmp_path / "o")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            # a runner that started us in the background may ignore SIGINT,
                            # and Python keeps an inherited SIG_IGN
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3.0)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert err.strip() == "fastinit: interrupted"
    assert not (tmp_path / "o" / "results.json").exists()
    assert not [f for f in (tmp_path / "o").iterdir()]  # nothing half written


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal_only():
    tty = FakeTTY()
    bar = cli.ProgressBar("work", stream=tty)
    bar(1, 4)
    bar(4, 4)
    bar.close()
    text = tty.getvalue()
    assert "work [" in text and "100%" in text and text.endswith("\r\033[K")
    pipe = io.StringIO()
    bar = cli.ProgressBar("work", stream=pipe)
    bar(1, 2)
    bar.close()
    assert pipe.getvalue() == ""
    quiet = cli.ProgressBar("work", stream=FakeTTY(), enabled=False)
    quiet(1, 1)
    assert quiet.stream.getvalue() == ""

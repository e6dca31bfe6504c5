"""One way to declare a command: every command's options are generated from its config dataclass,
and every option reaches the config (``--threads`` of ``demo`` was once accepted and dropped).

The sweep below parses each option of each command with a value other than its default, exactly as
the command line does (click's own parsing), builds the config as the command does
(``options.config_from``), and checks that the field the option names holds that value.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from cxr_regions.cli import app
from cxr_regions.errors import UserError
from cxr_regions.options import cli, comma_list, command, config_from, duration, nested, options_from
from cxr_regions.training import TrainConfig


def commands(group=None, path=()):
    """(command path, click command) of every command of the app, sub-commands included."""
    group = group or get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


ALL = dict(commands())


def test_every_command_is_generated_from_a_config():
    hand_written = [" ".join(p) for p, cmd in ALL.items() if not hasattr(cmd.callback, "__config__")]
    assert not hand_written, f"commands whose options are not generated from a config: {hand_written}"
    assert len(ALL) >= 19
    for path, cmd in ALL.items():
        flags = [opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)]
        assert len(flags) == len(set(flags)), f"{' '.join(path)}: an option name is used twice"
        assert all(p.help for p in cmd.params if p.param_type_name == "option"), " ".join(path)


# -- the sweep -------------------------------------------------------------------------------------

STRINGS: dict[str, list[Any]] = {
    "--split": ["val", "0.7,0.2,0.1"],
    "--protocol": ["paper"],
    "--resize": ["stretch"],
    "--join": ["image_id"],
    "--lr-schedule": ["step"],
    "--window": ["percentile"],
    "--decode": ["exact"],
    "--engine": ["dask"],
    "--method": ["gradcam++", "gradcam"],
    "--device": ["cpu"],
    "--language": ["en"],
    "--views": ["PA,AP"],
    "--prevalence": ["balanced"],
    "--poll": ["2m"],
    "--query": ["Modality=DX"],
    "--since": ["2020-01-02"],
    "--arch": ["alexnet", "resnet18"],
    "--init": ["scratch"],
    "--devices": ["2"],
    "--accelerator": ["cpu"],
    "--strategy": ["ddp"],
    "--precision": ["16-mixed"],
    "--augment-on": ["device"],
    "--host": ["0.0.0.0"],
    "--pacs": ["http://pacs.example/dicom-web"],
    "--scheduler": ["tcp://scheduler:8786"],
    "--text-col": [["findings", "impression"]],
    "--regions": [["heart,lungs", "aorta"]],
    "--stop-at-auc": [0.9],
    "--lr-factor": [0.25],
    "--min-share": [0.3],
    "--bit-depth": [16],
    "--poll-mode": ["changes", "off"],
    "--sc-syntax": ["rle-lossless"],
    "--state": ["failed"],
    "--forwarded-allow-ips": ["10.0.0.0/8", "127.0.0.1"],
    "--role": ["admin"],
    "--tls-cert": ["CERT"],
    "--tls-key": ["KEY"],
}
"""Values for options whose config checks what they hold."""

COMPANIONS = {
    "--scheduler": ["--engine", "dask"],
    "--host": ["--users", "FILE"],
    "--pacs-auth": ["--pacs", "http://pacs.example/dicom-web"],
    "--send-results": ["--pacs", "http://pacs.example/dicom-web"],
    "--tls-cert": ["--tls-key", "KEY"],
    "--tls-key": ["--tls-cert", "CERT"],
    "--unfreeze-after": ["--freeze-backbone"],
}
"""Options that are only valid together with another."""


def base_args(path: tuple[str, ...], folder: Path, file: Path, leave_out: str) -> list[str]:
    """The command's required arguments and options, with real folders and files."""
    name = " ".join(path)
    args = {
        "phantom": [folder],
        "ingest": [folder, folder / "out"],
        "label": [file],
        "label-stats": [file],
        "label-eval": [],  # --gold is optional: --behaviour runs without it
        "build": [folder, "--labels", file, "--images", file],
        "train": [folder],
        "pretrain-prepare": [folder, "-o", folder / "prep"],
        "pretrain": [folder],
        "evaluate": [folder],
        "compare": [folder, folder],
        "explain": [folder, file],
        "report": ["--dataset", folder, "--evaluation", folder],
        "experiment": [file],
        "demo": [],
        "serve": [folder],
        "pacs pull": ["http://pacs.example/dicom-web", folder],
        "serve-user add": ["alice"],
        "serve-user remove": ["alice"],
        "serve-user list": [],
        "serve-user passwd": ["alice"],
        "serve-user role": ["alice", "admin"],
        "serve-user full-name": ["alice", "Li Wei"],
        "verdicts export": ["--data", folder],
        "pacs retry": [] if leave_out == "--all" else ["1.2.3"],
        "pacs forget": ["1.2.3"],
        "pacs jobs": [],
        "audit export": ["--data", folder],
    }[name]
    if name == "explain" and leave_out == "--split":
        args = [folder]  # films or a split, not both
    return [str(a) for a in args]


def field_of(config: Any, name: str) -> Any:
    for part in name.split("__"):
        config = getattr(config, part)
    return config


def meta_of(config_cls: type, name: str) -> tuple[dict, Any]:
    """The ``cli`` metadata and the type hint of the field a parameter fills."""
    *outer, last = name.split("__")
    cls = config_cls
    for part in outer:
        cls = typing.get_type_hints(cls)[part]
    f = {f.name: f for f in dataclasses.fields(cls)}[last]
    return f.metadata["cli"], typing.get_type_hints(cls)[last]


def candidates(param, hint: Any, default: Any, folder: Path, file: Path) -> list[list[str]]:
    flag = max(param.opts, key=len)
    if param.is_flag:
        return [[param.secondary_opts[0]]] if default and param.secondary_opts else [[flag]]
    values = STRINGS.get(flag)
    if values is None:
        kinds = set(typing.get_args(hint)) or {hint}
        values = [7, 300] if int in kinds else [0.3, 0.9, 2.5] if float in kinds else ["x-value"]
        values = [folder, file] if Path in kinds else values
    out = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        out.append([token for item in items for token in (flag, str(item))])
    return out


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and its key (openssl), for the TLS options of ``serve``."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


TLS: dict[str, Path] = {}


def real(token: str, file: Path) -> str:
    """A placeholder of the tables above as the file it stands for."""
    if token == "FILE":
        return str(file)
    return str(TLS[token]) if token in TLS else token


@pytest.mark.parametrize("path", sorted(ALL), ids=" ".join)
def test_every_option_reaches_the_config(path, tmp_path, tls_pair):
    TLS.update(CERT=tls_pair[0], KEY=tls_pair[1])
    cmd = ALL[path]
    config_cls = cmd.callback.__config__
    folder, file = tmp_path, tmp_path / "some.csv"
    file.write_text("x\n", encoding="utf-8")
    defaults = config_from(config_cls, cmd.make_context("x", base_args(path, folder, file, "")).params)
    for param in cmd.params:
        if param.param_type_name != "option" or param.name == "help":
            continue
        meta, hint = meta_of(config_cls, param.name)
        default = field_of(defaults, param.name)
        flag = max(param.opts, key=len)
        known = {opt for p in cmd.params for opt in p.opts}
        companion = [real(a, file) for a in COMPANIONS.get(flag, [])]
        companion = companion if not companion or companion[0] in known else []
        reached = None
        for tokens in candidates(param, hint, default, folder, file):
            tokens = [real(token, file) for token in tokens]
            args = [*base_args(path, folder, file, flag), *companion, *tokens]
            given = cmd.make_context("x", list(args)).params[param.name]  # click consumes the list
            try:
                expected = meta["parse"](given) if meta["parse"] else given
                if expected == default:
                    continue
                config = config_from(config_cls, cmd.make_context("x", list(args)).params)
            except UserError:
                continue
            reached = field_of(config, param.name)
            assert reached == expected, f"{' '.join(path)} {flag}: config holds {reached!r}, not {expected!r}"
            break
        assert reached is not None, f"{' '.join(path)} {flag}: no example value builds a config; add one"


def test_the_defaults_on_the_command_line_are_the_configs(tmp_path):
    """A config built from the command line's defaults equals one built from the dataclass defaults."""
    file = tmp_path / "f.csv"
    file.write_text("x\n", encoding="utf-8")
    for path, cmd in ALL.items():
        params = cmd.make_context("x", base_args(path, tmp_path, file, "")).params
        from_cli = config_from(cmd.callback.__config__, params)
        given = {p.name: params[p.name] for p in cmd.params if p.param_type_name == "argument"}
        given |= {p.name: params[p.name] for p in cmd.params if p.required}
        assert from_cli == config_from(cmd.callback.__config__, given), " ".join(path)


def test_demo_threads_reaches_the_run(tmp_path, monkeypatch):
    """``demo --threads 3`` was accepted and dropped: DemoConfig got threads=1 (fails on 6eec6e2)."""
    import cxr_regions.workflows.demo as demo

    seen = []

    def capture(config, announce=None):
        seen.append(config)
        raise SystemExit(0)

    monkeypatch.setattr(demo, "run_demo", capture)
    CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d"), "--threads", "3", "--films", "40"])
    assert [(c.threads, c.films, c.out) for c in seen] == [(3, 40, tmp_path / "d")]


# -- the mechanism ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command_name", ["train", "pretrain"])
def test_every_train_config_field_is_an_option_with_the_same_default(command_name):
    params = {p.name.removeprefix("train__"): p for p in ALL[(command_name,)].params}
    for f in dataclasses.fields(TrainConfig):
        if command_name == "pretrain" and f.name == "dataset":
            assert "dataset" not in params  # pretrain trains on the data it prepares
            continue
        assert f.name in params, f"{command_name} has no option for TrainConfig.{f.name}"
        param = params[f.name]
        assert param.help, f.name
        if f.default is dataclasses.MISSING:
            assert param.required, f.name
        else:
            assert param.default == f.default, (f.name, param.default, f.default)
    assert params["out"].opts == ["-o", "--out"]
    assert params["augment"].secondary_opts == ["--no-augment"]


@pytest.mark.parametrize("command_name", ["train", "pretrain"])
def test_help_shows_every_option_with_its_default(command_name):
    result = CliRunner().invoke(app, [command_name, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for option in ("--arch", "--lr-factor", "--augment-on", "--num-workers", "--resume", "--no-progress"):
        assert option in text, option
    assert "[default: densenet121]" in text and "[default: 0.001]" in text
    runs = "runs/chestx14-ARCH" if command_name == "pretrain" else "runs/ARCH-INIT"
    assert runs in text


@dataclass(frozen=True)
class Inner:
    level: float = field(default=0.5, metadata=cli("A level.", "--inner-level"))
    seen: str = field(default="no", metadata=cli("Not changed by the outer config."))


@dataclass
class Toy:
    """A config with an argument, a renamed option, a switch, a converted value, nested settings
    and a field left off the command line."""

    source: Path = field(metadata=cli("Input folder.", argument=True))
    count: int = field(default=3, metadata=cli("How many.", "-n", "--count"))
    loud: bool = field(default=False, metadata=cli("Talk.", "--loud/--quiet"))
    devices: str | int = field(default="auto", metadata=cli("Devices.", type=str))
    every: float = field(default=30.0, metadata=cli("How often.", type=str, parse=duration, show="30s"))
    views: tuple[str, ...] = field(default=(), metadata=cli("Views.", type=str, parse=comma_list, show=""))
    inner: Inner = field(default_factory=Inner, metadata=nested(exclude=["seen"]))
    internal: float = 0.5

    def validate(self) -> None:
        if self.count > 10:
            raise UserError("--count must be at most 10")


def test_a_command_built_from_a_config_receives_every_option(tmp_path):
    received = []
    toy = typer.Typer()
    command(toy, "toy", Toy, received.append)
    command(toy, "other", Toy, received.append)  # two commands: typer keeps sub-command names
    runner = CliRunner()
    args = [
        "toy",
        str(tmp_path),
        "-n",
        "5",
        "--loud",
        "--every",
        "2m",
        "--views",
        "PA, AP",
        "--inner-level",
        "1",
    ]
    result = runner.invoke(toy, args)
    assert result.exit_code == 0, result.output
    assert received == [
        Toy(source=tmp_path, count=5, loud=True, every=120.0, views=("PA", "AP"), inner=Inner(level=1.0))
    ]
    assert runner.invoke(toy, ["toy", str(tmp_path)]).exit_code == 0
    assert received[-1] == Toy(source=tmp_path)  # the shown defaults parse to the fields' defaults
    failed = runner.invoke(toy, ["toy", str(tmp_path), "-n", "11"])
    assert isinstance(failed.exception, UserError)  # validate() ran
    names = [p.name for p in options_from(Toy, exclude=["source"])]
    assert names == ["count", "loud", "devices", "every", "views", "inner__level"]
    assert options_from(Toy, help={"count": "Other."})[1].default.help == "Other."


def test_help_imports_neither_torch_nor_pandas_nor_pydantic():
    code = (
        "import sys\n"
        "from typer.main import get_command\n"
        "from cxr_regions.cli import app\n"
        "get_command(app)\n"
        "heavy = ('torch', 'pandas', 'pydantic', 'lightning', 'sklearn')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

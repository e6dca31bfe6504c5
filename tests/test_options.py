"""CLI options generated from typed configs: every TrainConfig field is an option of `train` and
`pretrain`, with the field's default and a help text, and what the command gets builds the config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from cxr_regions.cli import app
from cxr_regions.options import cli, options_from, with_options
from cxr_regions.training import TrainConfig


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_every_train_config_field_is_an_option_with_the_same_default(command):
    params = {p.name: p for p in get_command(app).commands[command].params}
    for f in dataclasses.fields(TrainConfig):
        if command == "pretrain" and f.name == "dataset":
            assert "dataset" not in params  # pretrain trains on the data it prepares
            continue
        assert f.name in params, f"{command} has no option for TrainConfig.{f.name}"
        param = params[f.name]
        assert param.help, f.name
        if f.default is dataclasses.MISSING:
            assert param.required, f.name
        else:
            assert param.default == f.default, (f.name, param.default, f.default)
    assert params["out"].opts == ["-o", "--out"]
    assert params["augment"].secondary_opts == ["--no-augment"]


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_help_shows_every_option_with_its_default(command):
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for option in ("--arch", "--lr-factor", "--augment-on", "--num-workers", "--resume", "--no-progress"):
        assert option in text, option
    assert "[default: densenet121]" in text and "[default: 0.001]" in text
    runs = "runs/chestx14-ARCH" if command == "pretrain" else "runs/ARCH-INIT"
    assert runs in text


@dataclass
class Toy:
    """A config with an argument, a renamed option, a switch and a field left off the command line."""

    source: Path = field(metadata=cli("Input folder.", argument=True))
    count: int = field(default=3, metadata=cli("How many.", "-n", "--count"))
    loud: bool = field(default=False, metadata=cli("Talk.", "--loud/--quiet"))
    devices: str | int = field(default="auto", metadata=cli("Devices.", type=str))
    internal: float = 0.5


def test_a_command_built_from_a_config_receives_every_option(tmp_path):
    received = []

    def run(**options) -> None:
        received.append(Toy(**options))

    toy = typer.Typer()
    toy.command()(with_options(run, options_from(Toy)))
    result = CliRunner().invoke(toy, [str(tmp_path), "-n", "5", "--loud"])
    assert result.exit_code == 0, result.output
    assert received == [Toy(source=tmp_path, count=5, loud=True, devices="auto")]
    assert [p.name for p in options_from(Toy, exclude=["source"])] == ["count", "loud", "devices"]
    assert options_from(Toy, help={"count": "Other."})[1].default.help == "Other."

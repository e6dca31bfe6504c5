"""``serve-user add`` and ``verdicts export`` through typer's CliRunner on a local app."""

from __future__ import annotations

import stat

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve import admin_commands
from cxr_regions.serve.store import Store
from cxr_regions.serve.users import Users


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app."""

    admin_commands.register(app)
    return app


def test_serve_user_add_prompts_twice_and_hides_the_password(app, tmp_path):
    users = tmp_path / "users.yaml"
    runner = CliRunner()
    result = runner.invoke(
        app, ["serve-user", "add", "dr_li", "--users", str(users)], input="s3cret-pw\ns3cret-pw\n"
    )
    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in result.output and "Repeat" in result.output
    assert Users.load(users).verify("dr_li", "s3cret-pw")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    mismatch = runner.invoke(
        app, ["serve-user", "add", "dr_wang", "--users", str(users)], input="aaaaaaaa\nbbbbbbbb\n" * 3
    )
    assert "dr_wang" not in Users.load(users)
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output


def test_serve_user_add_from_stdin_and_force(app, tmp_path):
    users = tmp_path / "users.yaml"
    runner = CliRunner()
    args = ["serve-user", "add", "dr_li", "--users", str(users), "--password-stdin"]
    assert runner.invoke(app, args, input="first-password\n").exit_code == 0
    again = runner.invoke(app, args, input="second-password\n")
    assert isinstance(again.exception, UserError) and "--force" in str(again.exception)
    assert runner.invoke(app, [*args, "--force"], input="second-password\n").exit_code == 0
    assert Users.load(users).verify("dr_li", "second-password")
    short = runner.invoke(
        app, ["serve-user", "add", "dr_x", "--users", str(users), "--password-stdin"], input="abc\n"
    )
    assert isinstance(short.exception, UserError)


def test_verdicts_export(app, tmp_path):
    runner = CliRunner()
    data, out = tmp_path / "data", tmp_path / "out" / "verdicts.csv"
    missing = runner.invoke(app, ["verdicts", "export", "--data", str(data), "-o", str(out)])
    assert isinstance(missing.exception, UserError) and "not found" in str(missing.exception)
    data.mkdir()
    empty_folder = runner.invoke(app, ["verdicts", "export", "--data", str(data), "-o", str(out)])
    assert isinstance(empty_folder.exception, UserError) and "no reading-room database" in str(
        empty_folder.exception
    )
    store = Store(data)
    film = store.add_film(
        image_id="i1", png_path="i1.png", width=4, height=4, source="demo", accession="ACC9"
    )
    none_yet = runner.invoke(app, ["verdicts", "export", "--data", str(data), "-o", str(out)])
    assert isinstance(none_yet.exception, UserError) and "no verdicts" in str(none_yet.exception)
    assert not out.exists()
    store.save_verdict(film.id, "dr_li", {**dict.fromkeys(REGION_KEYS, "0"), "aorta": "u"}, mark_read=True)
    result = runner.invoke(app, ["verdicts", "export", "--data", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 verdict" in result.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame.loc[0, ["report_id", "aorta", "label_string", "reader"]].tolist() == [
        "ACC9",
        "u",
        "00100",
        "dr_li",
    ]


def test_serve_user_list_remove_passwd_role_and_full_name(app, tmp_path):
    users = tmp_path / "users.yaml"
    runner = CliRunner()

    def run(*args: str, password: str = ""):
        return runner.invoke(app, ["serve-user", *args, "--users", str(users)], input=password)

    added = run(
        "add",
        "dr_li",
        "--full-name",
        "Li Wei",
        "--role",
        "admin",
        "--password-stdin",
        password="first-pass\n",
    )
    assert added.exit_code == 0, added.output
    assert run("add", "dr_wang", "--password-stdin", password="wang-pass-1\n").exit_code == 0
    listed = run("list")
    assert "dr_li\tadmin\tLi Wei" in listed.output and "dr_wang\treader\t" in listed.output
    assert run("full-name", "dr_wang", "Wang Fang").exit_code == 0
    assert run("role", "dr_wang", "admin").exit_code == 0
    assert run("passwd", "dr_wang", "--password-stdin", password="new-wang-pass\n").exit_code == 0
    table = Users.load(users)
    assert table.get("dr_wang").full_name == "Wang Fang" and table.get("dr_wang").is_admin
    assert table.verify("dr_wang", "new-wang-pass") and not table.verify("dr_wang", "wang-pass-1")
    nobody = run("passwd", "dr_nobody", "--password-stdin", password="whatever-1\n")
    assert isinstance(nobody.exception, UserError) and "no user 'dr_nobody'" in str(nobody.exception)
    assert run("remove", "dr_li").exit_code == 0
    last = run("remove", "dr_wang")
    assert isinstance(last.exception, UserError) and "only admin" in str(last.exception)
    assert Users.load(users).names == ["dr_wang"]
    bad_role = run("role", "dr_wang", "superuser")
    assert isinstance(bad_role.exception, UserError) and "reader, admin" in str(bad_role.exception)

    broken = users.read_text(encoding="utf-8") + "dr_x: [unclosed\n"
    users.write_text(broken, encoding="utf-8")
    for args in (("list",), ("remove", "dr_wang"), ("role", "dr_wang", "reader")):
        refused = run(*args)
        assert isinstance(refused.exception, UserError) and "line" in str(refused.exception), args
    assert users.read_text(encoding="utf-8") == broken  # nothing written over a broken file

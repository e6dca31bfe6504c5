"""The reading room's users file: argon2id hashes, written atomically with mode 0600."""

from __future__ import annotations

import stat
import time

import pytest

from cxr_regions.errors import UserError
from cxr_regions.serve.users import Users, add_user


def test_add_and_verify_users(tmp_path):
    path = tmp_path / "conf" / "users.yaml"
    add_user(path, "dr_li", "correct horse")
    add_user(path, "王医生", "battery staple")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "correct horse" not in text and "$argon2id$" in text
    users = Users.load(path)
    assert users.names == sorted(["dr_li", "王医生"])
    assert users.verify("dr_li", "correct horse")
    assert users.verify("王医生", "battery staple")
    assert not users.verify("dr_li", "battery staple")
    assert not users.verify("nobody", "correct horse")
    assert not users.verify("dr_li", "")
    assert list(tmp_path.joinpath("conf").iterdir()) == [path]


def test_existing_user_needs_replace(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "dr_li", "first password")
    with pytest.raises(UserError, match="--force"):
        add_user(path, "dr_li", "second password")
    assert Users.load(path).verify("dr_li", "first password")
    add_user(path, "dr_li", "second password", replace=True)
    users = Users.load(path)
    assert users.verify("dr_li", "second password") and not users.verify("dr_li", "first password")


def test_bad_names_passwords_and_files_are_user_errors(tmp_path):
    path = tmp_path / "users.yaml"
    with pytest.raises(UserError, match="at least"):
        add_user(path, "dr_li", "short")
    with pytest.raises(UserError, match="not allowed"):
        add_user(path, "dr li", "long enough")
    with pytest.raises(UserError, match="not found"):
        Users.load(path)
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(UserError, match="password hash"):
        Users.load(path)
    path.write_text("dr_li: [unclosed\n", encoding="utf-8")
    with pytest.raises(UserError, match="YAML"):
        Users.load(path)
    path.write_text("dr_wang: $argon2id$v=19$x\ndr_li: not-a-hash\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"line 2: user 'dr_li': no argon2 password hash"):
        Users.load(path)  # a password in clear (or anything else) is refused, with its line


def test_unknown_names_cost_hashing_time_too(tmp_path):
    path = add_user(tmp_path / "users.yaml", "dr_li", "correct horse")
    users = Users.load(path)

    def seconds(name: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            users.verify(name, "wrong password")
            best = min(best, time.perf_counter() - start)
        return best

    known, unknown = seconds("dr_li"), seconds("nobody")
    assert unknown > 0.3 * known, (known, unknown)

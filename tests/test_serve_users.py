"""The reading room's users file: argon2id hashes, written atomically with mode 0600."""

from __future__ import annotations

import stat
import time

import pytest

from cxr_regions.errors import UserError
from cxr_regions.serve.users import Users, add_user

pytestmark = pytest.mark.slow  # argon2 at its production cost, on purpose slow


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


def test_concurrent_edits_of_one_file_lose_nothing(tmp_path):
    """Each edit holds the lock on the file's folder from reading to writing (as `serve-user` and the
    users page of a running room do), so eight writers at once all land."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "users.yaml"
    names = [f"dr_{i}" for i in range(8)]
    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(lambda name: add_user(path, name, f"password of {name}"), names))
    assert Users.load(path).names == names


def test_roles_and_full_names_round_trip_and_the_old_one_line_form_still_reads(tmp_path):
    from cxr_regions.serve.users import Role, hash_password

    path = tmp_path / "users.yaml"
    path.write_text(f"dr_old: {hash_password('an old password')}\n", encoding="utf-8")
    add_user(path, "dr_li", "correct horse", role="admin", full_name="Li  Wei")  # spaces folded
    users = Users.load(path)
    assert users.get("dr_old").role is Role.READER and users.get("dr_old").display_name == "dr_old"
    assert users.verify("dr_old", "an old password")
    assert users.get("dr_li").role is Role.ADMIN and users.get("dr_li").display_name == "Li Wei"
    for bad in ("Li\\Wei", "Li=Wei", "x" * 65):
        with pytest.raises(UserError, match="full name"):
            add_user(path, "dr_bad", "long enough", full_name=bad)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "dr_li:\n  password: x\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"line \d+: user 'dr_li' is listed twice"):
        Users.load(path)

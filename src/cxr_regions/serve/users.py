"""The reading room's users: a YAML file of ``name: argon2id hash``, made by ``cxr-regions serve-user add``.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``); the file is written atomically and
readable by its owner only (mode 0600). ``Users.verify`` spends the same hashing time for an unknown name
as for a known one, so a login's timing does not tell which names exist.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cxr_regions.errors import UserError
from cxr_regions.fileio import atomic_path

MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_HASHER = PasswordHasher()
_DUMMY_HASH: str | None = None


def check_name(name: str) -> str:
    """A user name: 1-64 letters, digits, ``_ . @ -`` (no spaces); it goes with every verdict."""
    if not _NAME.match(name or ""):
        raise UserError(
            f"user name {name!r} is not allowed: use 1-64 letters, digits, '_', '.', '@' or '-' (no spaces)"
        )
    return name


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash("not a password of anyone")
    return _DUMMY_HASH


class Users:
    """The users of one reading room: name -> argon2 hash."""

    def __init__(self, hashes: dict[str, str] | None = None) -> None:
        self.hashes: dict[str, str] = dict(hashes or {})
        _dummy_hash()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Users:
        """Read a users file; a ``UserError`` says what is wrong with a missing or malformed one."""
        file = Path(path)
        if not file.is_file():
            raise UserError(
                f"users file not found: {file}; "
                f"make one with `cxr-regions serve-user add NAME --users {file}`"
            )
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise UserError(f"{file}: not valid YAML ({exc})") from None
        if data is None:
            data = {}
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise UserError(f"{file}: must map each user name to a password hash (name: $argon2id$...)")
        return cls(data)

    def __contains__(self, name: object) -> bool:
        return name in self.hashes

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def names(self) -> list[str]:
        """The user names, sorted."""
        return sorted(self.hashes)

    def verify(self, name: str, password: str) -> bool:
        """True if ``password`` is ``name``'s; an unknown name costs the same hashing time and is False."""
        stored = self.hashes.get(name)
        try:
            if stored is None:
                _HASHER.verify(_dummy_hash(), password)
                return False
            return _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def save_users(path: str | os.PathLike[str], users: Users) -> Path:
    """Write the users file atomically, readable and writable by its owner only (0600)."""
    text = (
        "# cxr-regions reading-room users: name -> argon2id hash (edit with `cxr-regions serve-user add`)\n"
    )
    text += yaml.safe_dump(dict(sorted(users.hashes.items())), allow_unicode=True, default_flow_style=False)
    with atomic_path(path) as tmp:
        os.chmod(tmp, 0o600)
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def add_user(path: str | os.PathLike[str], name: str, password: str, *, replace: bool = False) -> Path:
    """Add ``name`` with an argon2id hash of ``password`` to the users file (made if absent).

    A ``UserError`` if the name is taken (unless ``replace``), not allowed, or the password shorter
    than ``MIN_PASSWORD_LENGTH``.
    """
    check_name(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    file = Path(path)
    users = Users.load(file) if file.exists() else Users()
    if name in users and not replace:
        raise UserError(f"user {name!r} already exists in {file}; use --force to replace their password")
    users.hashes[name] = _HASHER.hash(password)
    return save_users(file, users)

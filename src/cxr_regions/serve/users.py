"""The reading room's users file (``serve --users FILE``), made and edited by ``cxr-regions serve-user``.

One YAML entry per user: the argon2id hash of their password (argon2-cffi's ``PasswordHasher``), their
role and their full name (the observer of their verdicts in the SR sent to the PACS)::

    dr_li:
      password: $argon2id$v=19$m=65536,t=3,p=4$...
      role: admin            # reader (read films, give verdicts) or admin (also users and the audit)
      full_name: Li Wei
    dr_wang: $argon2id$...   # the older one-line form: a reader without a full name

Every change goes through :func:`update_users`: under a lock on the file's folder (so the command line
and a running room never overwrite each other's change), the file is read and checked, changed, and
written atomically with mode 0600. A file with a bad entry is refused with its line number and left as
it is. ``Users.verify`` spends the same hashing time for an unknown name as for a known one, so a
login's timing does not tell which names exist.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cxr_regions.errors import UserError
from cxr_regions.fileio import atomic_path

try:  # POSIX: the lock that keeps two writers of one users file apart
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: edits are not serialised
    fcntl = None  # type: ignore[assignment]

MIN_PASSWORD_LENGTH = 8
MAX_FULL_NAME = 64
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_ENTRY_KEYS = ("password", "role", "full_name")
_HASHER = PasswordHasher()
_DUMMY_HASH: str | None = None
T = TypeVar("T")


class Role(StrEnum):
    """What a user may do: readers read films and give verdicts; admins also manage the users and
    export the audit trail."""

    READER = "reader"
    ADMIN = "admin"


@dataclass(frozen=True)
class Account:
    """One user of the reading room."""

    name: str
    password_hash: str = field(repr=False)
    role: Role = Role.READER
    full_name: str = ""

    @property
    def display_name(self) -> str:
        """The full name where the users file has one, else the login name."""
        return self.full_name or self.name

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def check_name(name: str) -> str:
    """A user name: 1-64 letters, digits, ``_ . @ -`` (no spaces); it goes with every verdict."""
    if not _NAME.match(name or ""):
        raise UserError(
            f"user name {name!r} is not allowed: use 1-64 letters, digits, '_', '.', '@' or '-' (no spaces)"
        )
    return name


def check_full_name(full_name: str) -> str:
    """A full name as the PACS shows it (DICOM PN): spaces folded, up to 64 characters, no ``\\``,
    ``=`` or control characters. Empty means none."""
    text = " ".join(str(full_name).split())
    bad = sorted({c for c in text if not c.isprintable() or c in "\\="})
    if bad or len(text) > MAX_FULL_NAME:
        raise UserError(
            f"full name {full_name!r} is not allowed: at most {MAX_FULL_NAME} characters, "
            f"without backslash, '=' or control characters"
        )
    return text


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"role {role!r} is not one of {', '.join(r.value for r in Role)}") from None


def hash_password(password: str) -> str:
    """The argon2id hash of a password long enough (``UserError`` otherwise)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash("not a password of anyone")
    return _DUMMY_HASH


class Users:
    """The users of one reading room: name -> :class:`Account`."""

    def __init__(self, accounts: Mapping[str, Account] | None = None) -> None:
        self.accounts: dict[str, Account] = dict(accounts or {})
        _dummy_hash()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Users:
        """Read a users file; a ``UserError`` names the file, the line and the fix for a bad entry."""
        file = Path(path)
        if not file.is_file():
            raise UserError(
                f"users file not found: {file}; "
                f"make one with `cxr-regions serve-user add NAME --users {file}`"
            )
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{file}: cannot read the users file ({exc})") from None
        return cls(_parse(text, file))

    def __contains__(self, name: object) -> bool:
        return name in self.accounts

    def __len__(self) -> int:
        return len(self.accounts)

    def get(self, name: str) -> Account | None:
        return self.accounts.get(name)

    @property
    def names(self) -> list[str]:
        """The user names, sorted."""
        return sorted(self.accounts)

    @property
    def admins(self) -> list[str]:
        return [n for n in self.names if self.accounts[n].is_admin]

    def verify(self, name: str, password: str) -> bool:
        """True if ``password`` is ``name``'s; an unknown name costs the same hashing time and is False."""
        account = self.accounts.get(name)
        try:
            if account is None:
                _HASHER.verify(_dummy_hash(), password)
                return False
            return _HASHER.verify(account.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def _parse(text: str, file: Path) -> dict[str, Account]:
    """The accounts of a users file's text; every problem is named with its line."""
    fix = (
        "fix or delete that line (the file is left as it is; "
        f"`cxr-regions serve-user list --users {file}` checks it again)"
    )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)  # at the end of the text: the last line is the culprit
        where = f", line {min(mark.line + 1, len(text.splitlines()))}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{file}{where}: not valid YAML ({problem}); {fix}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise UserError(
            f"{file}, line {root.start_mark.line + 1}: must map each user name to their entry, a "
            "password hash with role and full name (name: {password: $argon2id$..., role: reader})"
        )
    accounts: dict[str, Account] = {}
    for key, value in root.value:
        where = f"{file}, line {key.start_mark.line + 1}"
        if not isinstance(key, yaml.ScalarNode):
            raise UserError(f"{where}: a user name must be plain text; {fix}")
        name = key.value
        try:
            check_name(name)
        except UserError as exc:
            raise UserError(f"{where}: {exc}; {fix}") from None
        if name in accounts:
            raise UserError(f"{where}: user {name!r} is listed twice; delete one of the entries")
        try:
            accounts[name] = _entry(name, key, value)
        except _BadField as exc:
            raise UserError(f"{file}, line {exc.line}: user {name!r}: {exc}; {fix}") from None
    return accounts


class _BadField(Exception):
    def __init__(self, message: str, node: yaml.Node) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1


def _entry(name: str, key: yaml.Node, node: yaml.Node) -> Account:
    """One user's entry; a problem is a ``_BadField`` with the node (the line) it is on."""
    if isinstance(node, yaml.ScalarNode):
        fields = {"password": node}
    elif isinstance(node, yaml.MappingNode):
        fields = {}
        for field_key, value in node.value:
            if not isinstance(field_key, yaml.ScalarNode) or field_key.value not in _ENTRY_KEYS:
                known = ", ".join(_ENTRY_KEYS)
                raise _BadField(
                    f"unknown field {getattr(field_key, 'value', '?')!r} (known: {known})", field_key
                )
            if not isinstance(value, yaml.ScalarNode):
                raise _BadField(f"{field_key.value} must be plain text", value)
            fields[field_key.value] = value
    else:
        raise _BadField(
            "the entry must be a password hash or a mapping of password, role and full_name", node
        )
    password = fields.get("password")
    if password is None or not password.value.startswith("$argon2"):
        raise _BadField(
            "no argon2 password hash (a password in clear is never stored: delete the entry and add "
            f"the user again with `cxr-regions serve-user add {name}`)",
            password or key,
        )
    values: dict[str, Any] = {}
    for field_name, check in (("role", check_role), ("full_name", check_full_name)):
        if field_name in fields:
            try:
                values[field_name] = check(fields[field_name].value)
            except UserError as exc:
                raise _BadField(str(exc), fields[field_name]) from None
    return Account(name, password.value, **values)


def _render(users: Users) -> str:
    entries = {}
    for name in users.names:
        account = users.accounts[name]
        entry = {"password": account.password_hash, "role": account.role.value}
        if account.full_name:
            entry["full_name"] = account.full_name
        entries[name] = entry
    header = "# cxr-regions reading-room users (edit with `cxr-regions serve-user`; roles: reader, admin)\n"
    if not entries:
        return header + "{}\n"
    return header + yaml.safe_dump(entries, allow_unicode=True, default_flow_style=False, sort_keys=False)


def save_users(path: str | os.PathLike[str], users: Users) -> Path:
    """Write the users file atomically (flushed to disk), readable and writable by its owner only."""
    with atomic_path(path) as tmp:
        os.chmod(tmp, 0o600)
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(_render(users))
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


@contextlib.contextmanager
def _folder_lock(file: Path) -> Iterator[None]:
    """Hold an exclusive lock on the users file's folder (the file itself is replaced on each write)."""
    folder = file.parent
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def update_users(
    path: str | os.PathLike[str], edit: Callable[[Users], T], *, create: bool = False,
    on_loaded: Callable[[Users], None] | None = None, on_saved: Callable[[Users], None] | None = None,
) -> T:  # fmt: skip
    """Read the users file, apply ``edit`` to it and write it back, all under the folder's lock.

    ``create``: a missing file counts as empty (``serve-user add``). A file with a bad entry is refused
    (``UserError`` with its line) and left untouched; so is everything when ``edit`` raises. A running
    room sees the users as read (``on_loaded``) and as written (``on_saved``), still under the lock.
    """
    file = Path(path)
    with _folder_lock(file):
        users = Users.load(file) if file.exists() or not create else Users()
        if on_loaded is not None:
            on_loaded(Users(users.accounts))
        result = edit(users)
        save_users(file, users)
        if on_saved is not None:
            on_saved(Users(users.accounts))
    return result


def _known(users: Users, name: str) -> Account:
    account = users.get(name)
    if account is None:
        raise UserError(f"no user {name!r}; the users are {', '.join(users.names) or 'none yet'}")
    return account


def _keeps_an_admin(users: Users, name: str) -> None:
    if users.admins == [name]:
        raise UserError(
            f"{name!r} is the only admin; make another user admin first "
            "(`cxr-regions serve-user role OTHER admin`)"
        )


def _put(users: Users, account: Account) -> None:
    users.accounts[account.name] = account


# Edits (each a function of the users, applied by ``update_users``) and the same on a file by its path.


def adding(
    name: str, password: str, *, replace: bool = False, role: Role | str = Role.READER, full_name: str = ""
) -> Callable[[Users], None]:
    """Add ``name`` (role, full name) with an argon2id hash of ``password``; with ``replace`` an
    existing entry is written anew. The checks run now, before any file is touched."""
    account = Account(check_name(name), hash_password(password), check_role(role), check_full_name(full_name))

    def add(users: Users) -> None:
        if name in users and not replace:
            raise UserError(f"user {name!r} already exists; use --force to replace their entry")
        _put(users, account)

    return add


def removing(name: str) -> Callable[[Users], Account]:
    """Take ``name`` out (never the last admin); the edit returns the removed account."""

    def remove(users: Users) -> Account:
        _known(users, name)
        _keeps_an_admin(users, name)
        return users.accounts.pop(name)

    return remove


def setting_password(name: str, password: str) -> Callable[[Users], None]:
    new_hash = hash_password(password)
    return lambda users: _put(users, replace(_known(users, name), password_hash=new_hash))


def setting_role(name: str, role: Role | str) -> Callable[[Users], Role]:
    """Make ``name`` a reader or an admin (never demoting the last admin); the edit returns the old role."""
    new = check_role(role)

    def change(users: Users) -> Role:
        account = _known(users, name)
        if new is not Role.ADMIN:
            _keeps_an_admin(users, name)
        _put(users, replace(account, role=new))
        return account.role

    return change


def setting_full_name(name: str, full_name: str) -> Callable[[Users], None]:
    """Set (or, with ``""``, clear) the full name of ``name``."""
    text = check_full_name(full_name)
    return lambda users: _put(users, replace(_known(users, name), full_name=text))


def add_user(
    path: str | os.PathLike[str], name: str, password: str, *, replace: bool = False,
    role: Role | str = Role.READER, full_name: str = "",
) -> Path:  # fmt: skip
    """Add ``name`` to the users file (made if absent); a ``UserError`` if the name is taken (unless
    ``replace``) or not allowed, or the password shorter than ``MIN_PASSWORD_LENGTH``."""
    update_users(path, adding(name, password, replace=replace, role=role, full_name=full_name), create=True)
    return Path(path)

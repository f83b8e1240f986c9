"""Curator accounts: a `curators` table in the site database, argon2 password hashes, and a login lockout.

After `max_failures` wrong passwords in a row an account is locked for `lock_seconds`; a correct password
during the lock is refused too, so guessing cannot go on in the background. Unknown names cost the same
argon2 work as known ones, so timing does not tell which names exist.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from planner.db import transaction
from planner.errors import InputError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, only here to spend the same time")
_NAME = re.compile(r"^[\w.\-]{1,40}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200


def ensure_tables(db: sqlite_utils.Database) -> None:
    if "curators" not in db.table_names():
        db["curators"].create(
            {"name": str, "password_hash": str, "created_at": str, "failed_logins": int, "locked_until": str,
             "last_login": str},
            pk="name", not_null={"password_hash", "created_at"}, defaults={"failed_logins": 0},
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_name(name) -> str:
    name = unicodedata.normalize("NFC", name or "").strip() if isinstance(name, str) else ""
    if not _NAME.match(name):
        raise InputError("name", "a curator name is 1-40 letters, digits, '.', '_' or '-'",
                         "管理员名称为 1-40 个字母、数字、“.”、“_”或“-”")
    return name


def add_curator(db: sqlite_utils.Database, name: str, password: str) -> dict:
    """Create a curator account; InputError for a bad or taken name or a short password."""
    ensure_tables(db)
    name = check_name(name)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InputError("password", f"use at least {MIN_PASSWORD} characters", f"密码至少 {MIN_PASSWORD} 个字符")
    if len(password) > MAX_PASSWORD:
        raise InputError("password", f"use at most {MAX_PASSWORD} characters", f"密码最多 {MAX_PASSWORD} 个字符")
    row = {"name": name, "password_hash": _hasher.hash(password), "created_at": _now().isoformat(timespec="seconds"),
           "failed_logins": 0, "locked_until": None, "last_login": None}
    with transaction(db):
        if db["curators"].count_where("name = ?", [name]):
            raise InputError("name", f"there is already a curator called {name}", f"已有名为 {name} 的管理员")
        db["curators"].insert(row)
    return {"name": name, "created_at": row["created_at"]}


def list_curators(db: sqlite_utils.Database) -> list[dict]:
    ensure_tables(db)
    return list(db.query("select name, created_at, failed_logins, locked_until, last_login from curators "
                         "order by name"))


def unlock(db: sqlite_utils.Database, name: str) -> bool:
    ensure_tables(db)
    with transaction(db):
        cursor = db.execute("update curators set failed_logins = 0, locked_until = null where name = ?", [name])
    return cursor.rowcount > 0


def exists(db: sqlite_utils.Database, name: str) -> bool:
    return bool(db["curators"].count_where("name = ?", [name]))


@dataclass
class LoginResult:
    ok: bool
    name: str | None = None
    locked_seconds: int = 0  # > 0: refused because the account is locked


def login(db: sqlite_utils.Database, name: str, password: str, *, max_failures: int = 5,
          lock_seconds: int = 300) -> LoginResult:
    name = (name or "").strip() if isinstance(name, str) else ""
    password = password if isinstance(password, str) else ""
    rows = list(db["curators"].rows_where("name = ?", [name])) if _NAME.match(name) else []
    if not rows or len(password) > MAX_PASSWORD:
        _verify(_DUMMY_HASH, password[:MAX_PASSWORD])
        return LoginResult(False)
    account = rows[0]
    now = _now()
    if account["locked_until"]:
        until = dt.datetime.fromisoformat(account["locked_until"])
        if until > now:
            return LoginResult(False, locked_seconds=max(1, int((until - now).total_seconds())))
    if not _verify(account["password_hash"], password):
        failures = (account["failed_logins"] or 0) + 1
        locked = None
        if failures >= max_failures:
            locked = (now + dt.timedelta(seconds=lock_seconds)).isoformat(timespec="seconds")
            failures = 0
        with transaction(db):
            db["curators"].update(name, {"failed_logins": failures, "locked_until": locked})
        return LoginResult(False, locked_seconds=lock_seconds if locked else 0)
    changes = {"failed_logins": 0, "locked_until": None, "last_login": now.isoformat(timespec="seconds")}
    if _hasher.check_needs_rehash(account["password_hash"]):
        changes["password_hash"] = _hasher.hash(password)
    with transaction(db):
        db["curators"].update(name, changes)
    return LoginResult(True, name)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False

"""One SQLite connection per server thread (WAL lets them read while a curator writes)."""

from __future__ import annotations

import threading

import sqlite_utils
from flask import Flask, current_app

from planner import db as sitedb

_local = threading.local()


def init_app(app: Flask) -> None:
    app.extensions["hongtu_db_path"] = str(app.config["HONGTU_DB"])


def get_db() -> sqlite_utils.Database:
    path = current_app.extensions["hongtu_db_path"]
    connections = getattr(_local, "connections", None)
    if connections is None:
        connections = _local.connections = {}
    db = connections.get(path)
    if db is None:
        db = connections[path] = sitedb.connect(path)
    return db

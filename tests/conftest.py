from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from planner import db as sitedb
from planner.toptw import warm_up

TESTS = Path(__file__).resolve().parent
MINI_DATA = TESTS / "data" / "mini"


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels() -> None:
    """Compile the optimiser's kernels once, before any test whose plans run against a clock (a bot or web
    worker would otherwise compile them itself, about 4 s on a fresh checkout and more on a busy machine);
    every later process loads them from numba's cache."""
    warm_up()


@pytest.fixture(scope="session")
def mini_db_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "mini.db"
    sitedb.build(path, MINI_DATA)
    return path


@pytest.fixture
def mini_db_path(mini_db_template, tmp_path) -> Path:
    """A fresh copy of the three-site test database for one test."""
    path = tmp_path / "sites.db"
    shutil.copy(mini_db_template, path)
    return path


@pytest.fixture
def mini_db(mini_db_path):
    return sitedb.connect(mini_db_path)

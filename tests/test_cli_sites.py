"""`hongtu db` and `hongtu sites`: every documented command, and bad input exiting 2 with nothing changed."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from hongtu.cli import main
from planner import db as sitedb
from tests.conftest import MINI_DATA

ADD_ARGS = [
    "--id", "jinggangshan-cli-site", "--name-zh", "命令行测试馆", "--name-en", "CLI Test Hall",
    "--category", "both", "--themes", "red-army;forest", "--county", "360881", "--lat", "26.58", "--lon", "114.17",
    "--precision", "300", "--coord-source", "test", "--visit-minutes", "40", "--hours", "daily 09:00-17:00",
    "--ticket", "0", "--summary-zh", "测试。", "--summary-en", "Test.", "--history-zh", "历史。",
    "--history-en", "History.", "--sources", "http://example.com/a;http://example.com/b", "--author", "cli",
]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_add_show_search_edit_hide_unhide(mini_db_path):
    code, out = run("sites", "add", *ADD_ARGS, "--db", mini_db_path)
    assert (code, out.strip()) == (0, "added jinggangshan-cli-site")
    code, out = run("sites", "show", "jinggangshan-cli-site", "--db", mini_db_path)
    assert code == 0 and "daily 09:00-17:00" in out and "audit" in out and "cli add" in out
    assert run("sites", "search", "ming ling", "--db", mini_db_path)[1].startswith("jinggangshan-cli-site")
    code, out = run("sites", "edit", "jinggangshan-cli-site", "--visit-minutes", "90", "--author", "ed",
                    "--db", mini_db_path)
    assert (code, out.strip()) == (0, "saved jinggangshan-cli-site (version 2)")
    assert run("sites", "hide", "jinggangshan-cli-site", "--author", "ed", "--db", mini_db_path)[0] == 0
    assert "jinggangshan-cli-site" not in run("sites", "search", "CLI Test", "--db", mini_db_path)[1]
    assert run("sites", "unhide", "jinggangshan-cli-site", "--author", "ed", "--db", mini_db_path)[0] == 0
    site = json.loads(run("sites", "show", "jinggangshan-cli-site", "--json", "--db", mini_db_path)[1])
    assert site["visit_minutes"] == 90 and site["hidden"] is False and site["themes"] == ["red-army", "forest"]


@pytest.mark.parametrize("flag,value,field", [
    ("--lat", "500", "lat"), ("--county", "110101", "county_adcode"), ("--hours", "25:00-26:00", "hours"),
    ("--name-zh", "", "name_zh"), ("--name-en", "<img src=x onerror=alert(1)>", "name_en"),
    ("--name-zh", "馆'; DROP TABLE sites;--", "name_zh"), ("--history-en", "x" * 10_000_001, "history_en"),
])
def test_bad_add_exits_2_naming_the_field_and_changes_nothing(mini_db_path, flag, value, field):
    before = sitedb.dump(sitedb.connect(mini_db_path))
    args = list(ADD_ARGS)
    args[args.index(flag) + 1] = value
    code, out = run("sites", "add", *args, "--db", mini_db_path)
    assert code == 2
    assert out.startswith(f"Error: {field}:")
    assert sitedb.dump(sitedb.connect(mini_db_path)) == before


def test_unknown_site_and_empty_edit_exit_2(mini_db_path):
    assert run("sites", "show", "no-such-site", "--db", mini_db_path)[0] == 2
    assert run("sites", "edit", "jinggangshan-museum", "--author", "x", "--db", mini_db_path)[0] == 2
    assert run("sites", "edit", "no-such-site", "--lat", "26.6", "--author", "x", "--db", mini_db_path)[0] == 2


def test_export_import_round_trip_json_and_csv(mini_db_path, tmp_path):
    code, out = run("sites", "export", "--format", "json", "--db", mini_db_path)
    exported = json.loads(out)
    assert code == 0 and len(exported) == 3
    (tmp_path / "sites.json").write_text(out)
    code, out = run("sites", "export", "--format", "csv", "--db", mini_db_path)
    (tmp_path / "sites.csv").write_text(out)
    before = sitedb.dump(sitedb.connect(mini_db_path))
    for name in ("sites.json", "sites.csv"):
        code, out = run("sites", "import", tmp_path / name, "--author", "rt", "--db", mini_db_path)
        assert (code, out.strip()) == (0, f"imported {name}: 0 added, 0 updated, 3 unchanged")
    assert sitedb.dump(sitedb.connect(mini_db_path)) == before
    # A fresh database fed the CSV export holds the same sites as the one it came from.
    fresh = tmp_path / "fresh.db"
    sitedb.build(fresh, MINI_DATA)
    db = sitedb.connect(fresh)
    for site in sitedb.list_sites(db, include_hidden=True):
        db.execute("delete from sites where id = ?", [site["id"]])
    assert run("sites", "import", tmp_path / "sites.csv", "--author", "rt", "--db", fresh)[0] == 0
    assert json.loads(run("sites", "export", "--db", fresh)[1]) == exported


def test_bad_import_reports_every_bad_row_and_writes_nothing(mini_db_path, tmp_path):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "name_zh", "name_en", "category", "themes", "county_adcode", "lat",
                                             "lon", "coord_precision_m", "coord_source", "visit_minutes", "hours",
                                             "summary_zh", "summary_en", "history_zh", "history_en", "sources"])
    writer.writeheader()
    base = dict(id="jinggangshan-imp-1", name_zh="导入一", name_en="Import One", category="red",
                themes="red-army", county_adcode="360881", lat="26.6", lon="114.1", coord_precision_m="500",
                coord_source="t", visit_minutes="30", hours="daily 09:00-17:00", summary_zh="s", summary_en="s",
                history_zh="h", history_en="h", sources="http://example.com")
    writer.writerow(base)
    writer.writerow(dict(base, id="jinggangshan-imp-2", lat="500"))
    writer.writerow(dict(base, id="jinggangshan-imp-3", hours="daily 25:00-26:00"))
    path = tmp_path / "bad.csv"
    path.write_text(out.getvalue())
    before = sitedb.dump(sitedb.connect(mini_db_path))
    result = CliRunner().invoke(main, ["sites", "import", str(path), "--author", "x", "--db", str(mini_db_path)])
    assert result.exit_code == 2
    assert "row 3, lat" in result.output and "row 4, hours" in result.output and "row 2" not in result.output
    assert sitedb.dump(sitedb.connect(mini_db_path)) == before


def test_a_csv_with_a_wrong_column_is_refused(mini_db_path, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("id,name_zh,colour\nx,y,red\n")
    code, out = run("sites", "import", path, "--author", "x", "--db", mini_db_path)
    assert code == 2 and "row 1, colour: is not a site field" in out


def test_validate_passes_on_good_data(mini_db_path):
    code, out = run("sites", "validate", "--db", mini_db_path)
    assert code == 0 and out.strip().endswith("0 problem(s)")


def test_db_build_and_migrate(tmp_path):
    out = tmp_path / "built.db"
    code, text = run("db", "build", "--out", out, "--data", MINI_DATA)
    assert (code, text.strip()) == (0, f"built {out}: 3 sites in 24 counties")
    assert run("db", "migrate", "--db", out)[1].strip() == f"schema already at v{sitedb.SCHEMA_VERSION}"

"""The curator area: login, add (with a map click), edit with a version check, hide/restore, import, audit.

Every page here needs a logged-in curator; every form carries a CSRF token (CSRFProtect checks all POSTs).
All writes go through planner.db, which validates them and records who changed what.
"""

from __future__ import annotations

import csv
import functools
import json
import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from planner import db as sitedb
from planner.cli import read_import_file
from planner.errors import InputError
from planner.hours import format_hours
from planner.sitedata import CATEGORIES, DESIGNATIONS, THEMES, VERIFIABLE
from web import accounts
from web.i18n import error_message, t
from web.sites_bp import SITE_ID, counties
from web.storage import get_db

curator_bp = Blueprint("curator", __name__, url_prefix="/curator")

TEXT_FIELDS = ("id", "name_zh", "name_en", "aliases", "category", "county_adcode", "lat", "lon",
               "coord_precision_m", "coord_source", "visit_minutes", "hours", "seasons", "ticket_cny", "ticket_note",
               "summary_zh", "summary_en", "history_zh", "history_en", "sources", "last_verified")
CHOICE_FIELDS = {"themes": THEMES, "designations": DESIGNATIONS, "unverified": VERIFIABLE}
MAX_FIELD = 20000


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/curator") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("curator.index")


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        name = session.get("curator")
        if not name or not accounts.exists(get_db(), name):
            session.pop("curator", None)
            flash(t("login_required"), "error")
            return redirect(url_for("curator.login", next=request.full_path.rstrip("?")))
        g.curator = name
        return view(*args, **kwargs)
    return wrapped


@curator_bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        cfg = current_app.config
        result = accounts.login(get_db(), request.form.get("name", "")[:100], request.form.get("password", "")[:300],
                                max_failures=cfg["LOGIN_MAX_FAILURES"], lock_seconds=cfg["LOGIN_LOCK_SECONDS"])
        if result.ok:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session["curator"] = result.name
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")), code=303)
        if result.locked_seconds:
            error, status = t("login_locked", seconds=result.locked_seconds), 429
        else:
            error, status = t("login_failed"), 401
    return render_template("curator/login.html", error=error, next=request.args.get("next", "")), status


@curator_bp.post("/logout")
def logout():
    session.pop("curator", None)
    return redirect(url_for("planner.index"), code=303)


@curator_bp.get("/")
@login_required
def index():
    db = get_db()
    query = (request.args.get("q") or "").strip()[:100]
    if query:
        sites = sitedb.search_sites(db, query, include_hidden=True, limit=200)
    else:
        sites = sitedb.list_sites(db, include_hidden=True)
    return render_template("curator/index.html", sites=sites, query=query, counties=counties(db))


# ---------------------------------------------------------------- the site form

def _list_text(values: list) -> str:
    return "; ".join(values)


def form_from_site(site: dict) -> dict:
    """A site record as the text the form shows."""
    sources = site.get("sources") or []
    plain = all(set(s) == {"url"} for s in sources)
    seasons = [{"from": s["from"], "to": s["to"], "hours": format_hours(s["hours"])} for s in site.get("seasons") or []]
    form = {
        **{k: ("" if site.get(k) is None else str(site[k])) for k in TEXT_FIELDS},
        "aliases": _list_text(site.get("aliases") or []),
        "hours": format_hours(site["hours"]) if site.get("hours") else "",
        "seasons": json.dumps(seasons, ensure_ascii=False) if seasons else "",
        "sources": "\n".join(s["url"] for s in sources) if plain else json.dumps(sources, ensure_ascii=False,
                                                                                  indent=1),
        "ticket_cny": "" if site.get("ticket_cny") is None else f"{site['ticket_cny']:g}",
    }
    for field in CHOICE_FIELDS:
        form[field] = set(site.get(field) or [])
    return form


def _empty_form() -> dict:
    form = {k: "" for k in TEXT_FIELDS}
    form.update({k: set() for k in CHOICE_FIELDS})
    form.update(category="red", coord_precision_m="100", visit_minutes="60", hours="daily 08:30-17:30")
    return form


def raw_from_form(values) -> tuple[dict, dict]:
    """(raw record for validate_site, form values to show again). Empty optional fields are left out."""
    shown: dict = {}
    raw: dict = {}
    for field in TEXT_FIELDS:
        value = values.get(field, "")
        if len(value) > MAX_FIELD:
            raise InputError(field, f"at most {MAX_FIELD} characters", f"最多 {MAX_FIELD} 个字符")
        value = value.replace("\r\n", "\n").replace("\r", "\n")  # browsers send textarea lines as CRLF
        shown[field] = value
        value = value.strip()
        if value == "":
            if field == "ticket_cny":
                raw[field] = None
            continue
        raw[field] = value
    for field in CHOICE_FIELDS:
        chosen = values.getlist(field)[:100]
        shown[field] = set(chosen)
        raw[field] = chosen
    if "sources" in raw and not raw["sources"].startswith("["):
        raw["sources"] = [line.strip() for line in raw["sources"].splitlines() if line.strip()]
    if "seasons" in raw:
        try:
            raw["seasons"] = json.loads(raw["seasons"])
        except json.JSONDecodeError:
            raise InputError("seasons", "is not valid JSON", "不是有效的 JSON") from None
    if "aliases" in raw:
        raw["aliases"] = [a.strip() for a in raw["aliases"].replace("；", ";").split(";") if a.strip()]
    else:
        raw["aliases"] = []
    raw.setdefault("seasons", [])
    raw.setdefault("ticket_note", "")
    return raw, shown


def _render_form(form: dict, *, site: dict | None, error: str | None = None, status: int = 200):
    return render_template("curator/site_form.html", form=form, site=site, error=error, counties=counties(get_db()),
                           categories=CATEGORIES, themes=list(THEMES), designations=list(DESIGNATIONS),
                           verifiable=list(VERIFIABLE)), status


@curator_bp.route("/sites/new", methods=["GET", "POST"])
@login_required
def add():
    if request.method == "GET":
        return _render_form(_empty_form(), site=None)
    try:
        raw, shown = raw_from_form(request.form)
    except InputError as e:
        return _render_form({**_empty_form(), **{k: v for k, v in request.form.items() if k in TEXT_FIELDS}},
                            site=None, error=error_message(e), status=400)
    try:
        site = sitedb.add_site(get_db(), raw, g.curator)
    except InputError as e:
        return _render_form(shown, site=None, error=error_message(e), status=400)
    flash(t("added", id=site["id"]), "ok")
    return redirect(url_for("curator.edit", site_id=site["id"]), code=303)


def _site_or_404(site_id: str) -> dict:
    site = sitedb.get_site(get_db(), site_id) if SITE_ID.match(site_id) and len(site_id) <= 80 else None
    if site is None:
        abort(404)
    return site


@curator_bp.route("/sites/<site_id>/edit", methods=["GET", "POST"])
@login_required
def edit(site_id: str):
    site = _site_or_404(site_id)
    if request.method == "GET":
        return _render_form(form_from_site(site), site=site)
    version_text = request.form.get("version", "")
    try:
        if not version_text.isdigit() or len(version_text) > 9:
            raise InputError("version", "the form has no valid version; reload it", "表单缺少有效版本号，请重新载入")
        raw, shown = raw_from_form(request.form)
        raw.pop("id", None)
        saved = sitedb.update_site(get_db(), site_id, raw, g.curator, expected_version=int(version_text))
    except InputError as e:
        shown = {**form_from_site(site), **{k: v for k, v in request.form.items() if k in TEXT_FIELDS}}
        for field in CHOICE_FIELDS:
            shown[field] = set(request.form.getlist(field))
        shown["id"] = site_id
        status = 409 if e.field == "version" else 400
        # A stale form keeps its old version number, so saving again is refused again until reloaded.
        current = {**site, "version": int(version_text) if version_text.isdigit() and len(version_text) < 10
                   else site["version"]}
        return _render_form(shown, site=current, error=error_message(e), status=status)
    flash(t("saved", id=saved["id"], version=saved["version"]), "ok")
    return redirect(url_for("curator.edit", site_id=site_id), code=303)


@curator_bp.post("/sites/<site_id>/hide")
@login_required
def hide(site_id: str):
    _site_or_404(site_id)
    sitedb.set_hidden(get_db(), site_id, True, g.curator)
    flash(t("hidden_done", id=site_id), "ok")
    return redirect(_safe_next(request.form.get("next")), code=303)


@curator_bp.post("/sites/<site_id>/restore")
@login_required
def restore(site_id: str):
    _site_or_404(site_id)
    sitedb.set_hidden(get_db(), site_id, False, g.curator)
    flash(t("restored_done", id=site_id), "ok")
    return redirect(_safe_next(request.form.get("next")), code=303)


@curator_bp.get("/sites/<site_id>/audit")
@login_required
def audit(site_id: str):
    site = _site_or_404(site_id)
    entries = []
    for entry in reversed(sitedb.audit_log(get_db(), site_id)):
        before, after = entry["before"] or {}, entry["after"] or {}
        changed = [(k, before.get(k), after.get(k)) for k in dict.fromkeys([*before, *after])
                   if before.get(k) != after.get(k) and k not in ("version",)]
        entries.append({**entry, "changes": [(k, _show(b), _show(a)) for k, b, a in changed]})
    return render_template("curator/audit.html", site=site, entries=entries)


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ---------------------------------------------------------------- import

@curator_bp.route("/import", methods=["GET", "POST"])
@login_required
def import_file():
    if request.method == "GET":
        return render_template("curator/import.html", result=None, errors=[], error=None)
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if not upload or suffix not in (".csv", ".json"):
        return render_template("curator/import.html", result=None, errors=[], error=t("import_no_file")), 400
    data = upload.read()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return render_template("curator/import.html", result=None, errors=[], error=t("import_encoding")), 400
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            try:
                rows = read_import_file(path)
            except (csv.Error, RecursionError, UnicodeError) as e:
                raise InputError("file", f"cannot read the file ({type(e).__name__})",
                                 f"无法读取文件（{type(e).__name__}）") from None
            result = sitedb.import_sites(get_db(), rows, g.curator)
        except InputError as e:
            return render_template("curator/import.html", result=None, errors=[e], error=error_message(e)), 400
    if result["errors"]:
        return render_template("curator/import.html", result=None, errors=result["errors"],
                               error=t("import_failed", n=len(result["errors"]))), 400
    return render_template("curator/import.html", result=result, errors=[], error=None)

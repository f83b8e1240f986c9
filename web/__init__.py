"""The web planner: a Flask application over `planner/`.

`create_app()` reads its configuration from the environment (HONGTU_DB, HONGTU_SECRET_KEY, HONGTU_TILE_URL,
HONGTU_TILE_ATTRIBUTION, HONGTU_PLAN_WORKERS, HONGTU_PLAN_TIME_LIMIT); a `config` dict overrides any of them.
Blueprints by area: `planner_bp` (plan a trip, shared plans, downloads), `sites_bp` (browse), `api` (JSON),
`curator` (login and editing).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from planner.db import DEFAULT_DB

log = logging.getLogger("hongtu.web")

OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

csrf = CSRFProtect()


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        log.warning("%s is not a number; using %s", name, default)
        return default


def default_config() -> dict:
    env = os.environ
    return {
        "HONGTU_DB": env.get("HONGTU_DB") or str(DEFAULT_DB),
        "SECRET_KEY": env.get("HONGTU_SECRET_KEY") or None,
        # An empty HONGTU_TILE_URL means no tile layer at all: markers and routes on a blank background.
        "TILE_URL": env.get("HONGTU_TILE_URL", OSM_TILE_URL),
        "TILE_ATTRIBUTION": env.get("HONGTU_TILE_ATTRIBUTION", OSM_ATTRIBUTION),
        # Plans are solved in this many worker processes (0: in the request thread; tests use that).
        "PLAN_WORKERS": int(_env_float("HONGTU_PLAN_WORKERS", 0)),
        "PLAN_TIME_LIMIT": _env_float("HONGTU_PLAN_TIME_LIMIT", 1.0),
        "PLAN_ITERATIONS": int(_env_float("HONGTU_PLAN_ITERATIONS", 0)) or None,
        "PLAN_MAX_TIME_LIMIT": 5.0,
        "PLAN_WORKER_NICE": int(_env_float("HONGTU_PLAN_WORKER_NICE", 10)),
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_SECONDS": 300,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "hongtu_session",
        # Behind HTTPS set HONGTU_COOKIE_SECURE=1 so the session cookie is only ever sent over TLS.
        "SESSION_COOKIE_SECURE": env.get("HONGTU_COOKIE_SECURE", "") in ("1", "true", "yes"),
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "JSON_SORT_KEYS": False,
    }


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(default_config())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        log.warning("HONGTU_SECRET_KEY is not set: using a random key, so sessions end when the server restarts")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    db_path = Path(app.config["HONGTU_DB"])
    if not db_path.exists():
        raise RuntimeError(f"no database at {db_path}: run `hongtu db build` first (or set HONGTU_DB)")

    from web import accounts, errors, i18n, planning, storage
    from web.api import api_bp
    from web.curator import curator_bp
    from web.planner_bp import planner_bp
    from web.sites_bp import sites_bp

    storage.init_app(app)
    with app.app_context():
        db = storage.get_db()
        accounts.ensure_tables(db)
        planning.ensure_tables(db)
    csrf.init_app(app)
    csrf.exempt(api_bp)
    i18n.init_app(app)
    errors.init_app(app)
    planning.init_app(app)
    app.register_blueprint(planner_bp)
    app.register_blueprint(sites_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(curator_bp)
    app.after_request(_security_headers)
    app.context_processor(_template_context)
    return app


def _template_context() -> dict:
    from urllib.parse import urlencode

    from flask import current_app, request

    from web.i18n import current_lang, t

    def lang_url(code: str) -> str:
        args = request.args.to_dict(flat=False)
        args["lang"] = [code]
        return f"{request.path}?{urlencode(args, doseq=True)}"

    cfg = current_app.config
    page_config = {
        "lang": current_lang(), "tileUrl": cfg["TILE_URL"], "attribution": cfg["TILE_ATTRIBUTION"],
        "center": [26.9, 113.95], "zoom": 7,
        "strings": {k: t(k) for k in ("leave", "overnight", "arrive_end", "selected_must", "none_selected",
                                      "planning", "visit", "approximate_short")},
        "dayLabel": t("day_n", n="{n}"),
    }
    return {"lang_url": lang_url, "page_config": page_config}


def tile_origin(url: str) -> str:
    """The CSP source for map tiles: scheme://host, with a {s} subdomain as a wildcard."""
    if not url:
        return ""
    parts = urlsplit(url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc or "{" in parts.netloc:
        return "https:"
    return f"{parts.scheme}://{parts.netloc}"


def _security_headers(response):
    from flask import current_app

    tiles = tile_origin(current_app.config["TILE_URL"])
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {tiles}".rstrip() + "; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response

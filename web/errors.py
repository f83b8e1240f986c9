"""Every failure becomes a page (or, under /api/, a JSON body) in the reader's language; never a bare 500."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from planner.errors import InputError
from web.i18n import STRINGS, current_lang, error_message, t
from web.planning import PlannerBusy

log = logging.getLogger("hongtu.web")

# HTTP status -> (field named in API errors, message key)
_HTTP = {
    400: ("request", "bad_request"),
    404: ("path", "not_found"),
    405: ("method", "method_not_allowed"),
    413: ("body", "too_large"),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error(field: str, en: str, zh: str, status: int):
    return jsonify({"error": {"field": field, "en": en, "zh": zh}}), status


def error_page(message: str, status: int):
    return render_template("error.html", message=message, status=status), status


def init_app(app: Flask) -> None:
    @app.errorhandler(InputError)
    def input_error(e: InputError):
        if wants_json():
            return jsonify({"error": e.as_dict()}), 400
        return error_page(error_message(e), 400)

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError):
        zh, en = STRINGS["csrf_failed"]
        if wants_json():
            return api_error("csrf_token", en, zh, 400)
        return error_page(t("csrf_failed"), 400)

    @app.errorhandler(PlannerBusy)
    def busy(e: PlannerBusy):
        zh, en = "行程规划服务繁忙，请稍后再试。", "The planner is busy; please try again in a moment."
        if wants_json():
            return api_error("plan", en, zh, 503)
        return error_page(zh if current_lang() == "zh" else en, 503)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        status = e.code or 500
        field, key = _HTTP.get(status, ("request", "bad_request"))
        zh, en = STRINGS[key]
        response = make_response(api_error(field, en, zh, status) if wants_json() else error_page(t(key), status))
        if status == 405 and getattr(e, "valid_methods", None):
            response.headers["Allow"] = ", ".join(e.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(e: Exception):  # a bug: log it, and still answer politely
        log.exception("unhandled error on %s %s", request.method, request.path)
        zh, en = STRINGS["server_error"]
        if wants_json():
            return api_error("server", en, zh, 500)
        return error_page(t("server_error"), 500)

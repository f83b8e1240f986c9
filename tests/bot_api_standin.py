"""A stand-in for the Telegram Bot API, for end-to-end tests of the real bot process over HTTP.

It serves `POST /bot<token>/<method>` on 127.0.0.1 the way core.telegram.org/bots/api documents it: parameters
as JSON, form-urlencoded (what python-telegram-bot sends) or multipart (file uploads), answers
`{"ok": true, "result": ...}`, and errors as `{"ok": false, "error_code": ..., "description": ...}`.

Implemented: getMe, getUpdates (long polling with timeout and offset confirmation), setWebhook, deleteWebhook,
getWebhookInfo, setMyCommands, getMyCommands, deleteMyCommands, sendMessage, editMessageText,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, sendVenue, sendLocation, sendDocument, sendChatAction,
close, logOut.

Tests play the users: `send_text`, `send_location` and `tap` (a callback query on a message the bot sent) queue
updates; `calls`, `sent` and `wait_for` show what the bot did; `fail_next` makes the next calls answer 429 (with
parameters.retry_after) or 5xx.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

# Parameters that are strings in the Bot API: never JSON-decode them (a text "123" stays a string).
STRING_PARAMS = {"text", "caption", "title", "address", "callback_query_id", "parse_mode", "url", "secret_token",
                 "name", "description", "short_description", "language_code", "inline_message_id",
                 "foursquare_id", "foursquare_type", "google_place_id", "google_place_type", "file_id", "emoji",
                 "business_connection_id", "message_effect_id", "ip_address"}
MESSAGE_METHODS = {"sendMessage", "sendVenue", "sendLocation", "sendDocument"}


@dataclass
class Call:
    method: str
    params: dict
    files: dict = field(default_factory=dict)  # part name -> (filename, bytes)
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    result: object = None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[dict]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def button(self, data_prefix: str = "", label: str = "") -> dict:
        for b in self.buttons:
            if b.get("callback_data", "").startswith(data_prefix) and label in b.get("text", ""):
                return b
        raise AssertionError(f"no button {data_prefix!r}/{label!r} in {[b.get('text') for b in self.buttons]}")


@dataclass
class Fault:
    status: int
    retry_after: int | None
    methods: set[str] | None
    left: int
    chat_id: int | None = None


class BotApiStandin:
    def __init__(self, token: str = "123:TEST", bot_id: int = 123, username: str = "hongtu_test_bot"):
        self.token = token
        self.me = {"id": bot_id, "is_bot": True, "first_name": "Hongtu", "username": username,
                   "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.cond = threading.Condition()
        self.updates: list[dict] = []
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict] = {}
        self.faults: list[Fault] = []
        self.commands: dict[str, list] = {}
        self.webhook: dict = {"url": ""}
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._query_ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self.diagnostics = None  # a callable whose text is added to a timed-out wait's error (e.g. the bot's log)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> BotApiStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                standin._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        with self.cond:
            self.cond.notify_all()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------ playing the users

    def user(self, user_id: int, language_code: str = "en") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": language_code}

    def _chat(self, chat_id: int) -> dict:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _push(self, update: dict) -> dict:
        with self.cond:
            update["update_id"] = next(self._update_ids)
            self.updates.append(update)
            self.cond.notify_all()
        return update

    def _user_message(self, user_id: int, language_code: str, **content) -> dict:
        with self.cond:
            message_id = self._next_message_id(user_id)
        message = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(user_id),
                   "from": self.user(user_id, language_code), **content}
        self._push({"message": message})
        return message

    def send_text(self, user_id: int, text: str, language_code: str = "en") -> dict:
        content: dict = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._user_message(user_id, language_code, **content)

    def send_location(self, user_id: int, lat: float, lon: float, language_code: str = "en") -> dict:
        return self._user_message(user_id, language_code, location={"latitude": lat, "longitude": lon})

    def tap(self, user_id: int, message: Call | dict, data: str, language_code: str = "en") -> dict:
        """A callback query: the user taps the button with callback_data `data` on a message the bot sent."""
        if isinstance(message, Call):
            message = message.result
        with self.cond:
            current = self.messages.get((message["chat"]["id"], message["message_id"]), message)
        query = {"id": str(next(self._query_ids)), "from": self.user(user_id, language_code),
                 "chat_instance": str(user_id), "data": data, "message": current}
        return self._push({"callback_query": query})

    # ------------------------------------------------------------ watching the bot

    def mark(self) -> int:
        with self.cond:
            return len(self.calls)

    def sent(self, chat_id: int | None = None, methods=MESSAGE_METHODS, since: int = 0) -> list[Call]:
        with self.cond:
            calls = self.calls[since:]
        return [c for c in calls if c.status == 200 and c.method in methods
                and (chat_id is None or c.params.get("chat_id") == chat_id)]

    def wait_for(self, predicate, timeout: float = 20.0, since: int = 0, count: int = 1,
                 status: int | None = 200) -> Call | list[Call]:
        """The first call (or `count` calls) after `since` answered with `status` (None: any) matching
        `predicate`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [c for c in self.calls[since:] if status in (None, c.status) and predicate(c)]
                if len(found) >= count:
                    return found[0] if count == 1 else found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [(c.method, c.status, c.text[:80]) for c in self.calls[since:]][-15:]
                    extra = f"\n---- diagnostics ----\n{self.diagnostics()}" if self.diagnostics else ""
                    raise AssertionError(f"timed out after {timeout} s; calls since mark: {recent}{extra}")
                self.cond.wait(min(left, 0.5))

    def wait_message(self, chat_id: int, contains: str = "", since: int = 0, timeout: float = 20.0,
                     methods=("sendMessage", "editMessageText")) -> Call:
        return self.wait_for(lambda c: c.method in methods and c.params.get("chat_id") == chat_id
                             and contains in c.text, timeout=timeout, since=since)

    def fail_next(self, n: int, status: int = 429, retry_after: int | None = 1, methods=None,
                  chat_id: int | None = None) -> None:
        """Answer the next `n` calls (of `methods`, or any but getUpdates; to `chat_id` if given) with `status`."""
        with self.cond:
            self.faults.append(Fault(status, retry_after if status == 429 else None,
                                     set(methods) if methods else None, n, chat_id))

    # ------------------------------------------------------------ HTTP

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = urlparse(request.path)
        parts = path.path.strip("/").split("/")
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        if len(parts) != 2 or parts[0] != f"bot{self.token}":
            return self._reply(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        method = parts[1]
        params, files = self._params(request.headers.get("Content-Type", ""), body, path.query)
        fault = self._take_fault(method, params)
        if fault is not None:
            with self.cond:
                self.calls.append(Call(method, params, files, status=fault.status))
                self.cond.notify_all()
            if fault.status == 429:
                return self._reply(request, 429, {"ok": False, "error_code": 429,
                                                  "description": f"Too Many Requests: retry after {fault.retry_after}",
                                                  "parameters": {"retry_after": fault.retry_after}})
            return self._reply(request, fault.status, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                               "text/html")
        if method == "getUpdates":
            return self._reply(request, 200, {"ok": True, "result": self._get_updates(params)})
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._reply(request, 404, {"ok": False, "error_code": 404,
                                              "description": "Not Found: method not found"})
        with self.cond:
            try:
                result = handler(params, files)
            except ApiError as e:
                self.calls.append(Call(method, params, files, status=e.code))
                self.cond.notify_all()
                return self._reply(request, e.code, {"ok": False, "error_code": e.code, "description": e.text})
            self.calls.append(Call(method, params, files, result=result))
            self.cond.notify_all()
        return self._reply(request, 200, {"ok": True, "result": result})

    def _take_fault(self, method: str, params: dict) -> Fault | None:
        with self.cond:
            for fault in self.faults:
                applies = method in fault.methods if fault.methods else method != "getUpdates"
                if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                    applies = False
                if applies and fault.left > 0:
                    fault.left -= 1
                    if fault.left == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _reply(request, status: int, payload, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _decode(name: str, value: str):
        if name in STRING_PARAMS:
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    def _params(self, content_type: str, body: bytes, query: str) -> tuple[dict, dict]:
        params: dict = {k: self._decode(k, v) for k, v in parse_qsl(query)}
        files: dict = {}
        if content_type.startswith("application/json") and body:
            params.update(json.loads(body))
        elif content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    files[name] = (part.get_filename(), payload)
                else:
                    params[name] = self._decode(name, payload.decode("utf-8"))
        elif body:
            params.update({k: self._decode(k, v) for k, v in parse_qsl(body.decode("utf-8"),
                                                                        keep_blank_values=True)})
        return params, files

    def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 30)
        with self.cond:
            self.calls.append(Call("getUpdates", params))
            self.cond.notify_all()
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.cond.wait(min(0.5, deadline - time.monotonic()))
            return self.updates[:limit]

    # ------------------------------------------------------------ methods

    def _bot_message(self, params: dict, **content) -> dict:
        chat_id = int(params["chat_id"])
        message = {"message_id": self._next_message_id(chat_id), "date": int(time.time()),
                   "chat": self._chat(chat_id), "from": self.me, **content}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _api_getMe(self, params, files):  # noqa: N802
        return self.me

    def _api_setWebhook(self, params, files):  # noqa: N802
        if not params.get("url", "").startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    def _api_deleteWebhook(self, params, files):  # noqa: N802
        self.webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def _api_getWebhookInfo(self, params, files):  # noqa: N802
        return {"url": self.webhook["url"], "has_custom_certificate": False, "pending_update_count": len(self.updates)}

    def _api_setMyCommands(self, params, files):  # noqa: N802
        commands = params.get("commands")
        if not isinstance(commands, list) or not all({"command", "description"} <= set(c) for c in commands):
            raise ApiError(400, "Bad Request: BOT_COMMANDS_INVALID")
        self.commands[params.get("language_code") or ""] = commands
        return True

    def _api_getMyCommands(self, params, files):  # noqa: N802
        return self.commands.get(params.get("language_code") or "", [])

    def _api_deleteMyCommands(self, params, files):  # noqa: N802
        self.commands.pop(params.get("language_code") or "", None)
        return True

    def _api_sendMessage(self, params, files):  # noqa: N802
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        if params.get("parse_mode") == "HTML":
            check_html(text)
        return self._bot_message(params, text=text)

    def _find(self, params) -> dict:
        key = (int(params.get("chat_id") or 0), int(params.get("message_id") or 0))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _api_editMessageText(self, params, files):  # noqa: N802
        message = self._find(params)
        text = params.get("text") or ""
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        if params.get("parse_mode") == "HTML":
            check_html(text)
        markup = params.get("reply_markup")
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        message["text"] = text
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return message

    def _api_editMessageReplyMarkup(self, params, files):  # noqa: N802
        message = self._find(params)
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup or (not markup and "reply_markup" not in message):
            raise ApiError(400, "Bad Request: message is not modified")
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return message

    def _api_deleteMessage(self, params, files):  # noqa: N802
        self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None)
        return True

    def _api_answerCallbackQuery(self, params, files):  # noqa: N802
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True

    def _api_sendVenue(self, params, files):  # noqa: N802
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        for key in ("title", "address"):
            if not params.get(key):
                raise ApiError(400, f"Bad Request: {key} is empty")
        return self._bot_message(params, location=location,
                                 venue={"location": location, "title": params["title"], "address": params["address"]})

    def _api_sendLocation(self, params, files):  # noqa: N802
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._bot_message(params, location=location)

    def _api_sendDocument(self, params, files):  # noqa: N802
        if "document" not in files and not isinstance(params.get("document"), str):
            raise ApiError(400, "Bad Request: there is no document in the request")
        name, data = files.get("document", (params.get("document"), b""))
        document = {"file_id": f"doc{len(self.calls)}", "file_unique_id": f"u{len(self.calls)}",
                    "file_name": name, "mime_type": "text/calendar" if str(name).endswith(".ics") else
                    "application/octet-stream", "file_size": len(data)}
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return self._bot_message(params, document=document, **extra)

    def _api_sendChatAction(self, params, files):  # noqa: N802
        return True

    def _api_close(self, params, files):
        return True

    def _api_logOut(self, params, files):  # noqa: N802
        return True


class ApiError(Exception):
    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code, self.text = code, text


ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}


def check_html(text: str) -> None:
    """Reject what Telegram's HTML parse mode rejects: unknown tags, unbalanced tags, bare < or &."""
    import re

    stack = []
    for m in re.finditer(r"<(/?)([a-zA-Z-]+)([^>]*)>|<|&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        if m.group(2) is None:
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected character at byte offset {m.start()}")
        closing, tag = m.group(1), m.group(2).lower()
        if tag not in ALLOWED_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: unsupported start tag \"{tag}\"")
        if closing:
            if not stack or stack.pop() != tag:
                raise ApiError(400, f"Bad Request: can't parse entities: can't find end tag corresponding to {tag}")
        else:
            stack.append(tag)
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: can't find end tag corresponding to {stack[-1]}")

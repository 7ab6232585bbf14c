"""A fake Twilio REST API (Messages.json, Calls.json) on 127.0.0.1, port 0, judged by the shared contract.

Each request is checked against `../shared/contracts/twilio/{messages,calls}.json`: the method and
path, HTTP Basic auth (account SID and auth token), the form content type, that every form field is
one the operation defines, the required fields, the contract's "one of each group" rules, E.164
numbers and well-formed TwiML. Problems go to `violations` (a test asserts there are none) and the
request is answered 400 with Twilio's error shape. A good request is answered 201 with the
contract's example resource, filled in with this request's values and a fresh sid, and the answer
itself is checked against the resource schema before it is sent.

Tests script failures: `inject(status)` answers the next requests with an error (429 with a
Retry-After, 500, 400 with Twilio's code), `hang()` holds the next requests unanswered until the
test stops the server, so the client's timeout fires.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import pathlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes.loopback import LoopbackSite

CONTRACTS = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "twilio"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/(?P<resource>Messages|Calls)\.json$")
FILES = {"Messages": "messages.json", "Calls": "calls.json"}
EXAMPLES = {"Messages": "create", "Calls": "createWithTwiml"}
PREFIX = {"Messages": "SM", "Calls": "CA"}


@dataclass(frozen=True)
class Recorded:
    resource: str  # Messages or Calls
    form: dict[str, str]
    answered: int


@dataclass
class Injection:
    status: int
    remaining: int
    code: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


class Operation:
    """One POST of the contract: its form schema, required fields, exclusive groups, 201 example and schema."""

    def __init__(self, resource: str) -> None:
        spec = json.loads((CONTRACTS / FILES[resource]).read_text())
        (path, item), = spec["paths"].items()
        post = item["post"]
        form = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        self.path = path
        self.fields: dict[str, Any] = form["properties"]
        self.required: list[str] = form.get("required", [])
        self.groups: list[list[str]] = spec["x-contract-notes"].get("one_of_each_group", [])
        created = post["responses"]["201"]["content"]["application/json"]
        self.example: dict[str, Any] = created["examples"][EXAMPLES[resource]]["value"]
        schema_name = created["schema"]["$ref"].rsplit("/", 1)[-1]
        self.schema: dict[str, Any] = spec["components"]["schemas"][schema_name]
        self.error_fields = set(spec["components"]["schemas"]["twilio_error"]["properties"])
        self.sid_pattern = re.compile(spec["paths"][path]["post"]["parameters"][0]["schema"]["pattern"])

    def check_form(self, form: dict[str, str]) -> list[str]:
        problems = [f"unknown form field {k!r}" for k in form if k not in self.fields]
        problems += [f"missing required field {k!r}" for k in self.required if k not in form]
        for group in self.groups:
            given = [k for k in group if k in form]
            if len(given) != 1:
                problems.append(f"exactly one of {group} is needed, got {given}")
        for key, value in form.items():
            kind = self.fields.get(key, {}).get("format")
            if kind in ("phone-number", "endpoint") and not E164.match(value):
                problems.append(f"{key} {value!r} is not an E.164 number")
            if kind == "twiml":
                try:
                    root = ET.fromstring(value)
                except ET.ParseError as exc:
                    problems.append(f"Twiml is not well-formed XML: {exc}")
                else:
                    if root.tag != "Response":
                        problems.append(f"Twiml's root is <{root.tag}>, not <Response>")
        return problems

    def check_resource(self, body: dict[str, Any]) -> list[str]:
        known = self.schema["properties"]
        problems = [f"answer key {k!r} is not in the resource schema" for k in body if k not in known]
        sid_rule = known["sid"].get("pattern")
        if sid_rule and not re.match(sid_rule, body["sid"]):
            problems.append(f"answer sid {body['sid']!r} does not match {sid_rule}")
        return problems


class FakeTwilio:
    def __init__(self, *, account_sid: str, token: str) -> None:
        self.account_sid = account_sid
        self.token = token
        self.url = ""
        self.operations = {name: Operation(name) for name in FILES}
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.injections: list[Injection] = []
        self._hang = 0
        self._release = asyncio.Event()
        self._ids = itertools.count(1)
        self._site = LoopbackSite(self._handle)

    async def start(self) -> FakeTwilio:
        self.url = await self._site.start()
        return self

    async def stop(self) -> None:
        self._release.set()
        await self._site.stop()

    # --- scripting ----------------------------------------------------------------------------
    def inject(self, status: int, *, times: int = 1, code: int | None = None, message: str | None = None,
               headers: dict[str, str] | None = None) -> None:
        default = {429: (20429, "Too Many Requests"), 500: (20500, "Internal Server Error"),
                   503: (20503, "Service Unavailable")}.get(status, (21211, "Invalid 'To' Phone Number"))
        self.injections.append(Injection(status, times, code or default[0], message or default[1], dict(headers or {})))

    def hang(self, times: int = 1) -> None:
        """Leave the next `times` requests unanswered (until `stop`): the client times out."""
        self._hang += times

    def sent(self, resource: str) -> list[dict[str, str]]:
        """Forms of the requests answered 201 for `resource` (Messages or Calls)."""
        return [r.form for r in self.requests if r.resource == resource and r.answered == 201]

    def tries(self, resource: str) -> list[Recorded]:
        return [r for r in self.requests if r.resource == resource]

    # --- serving ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        match = PATH.match(request.path)
        if request.method != "POST" or match is None:
            self.violations.append(f"{request.method} {request.path}: not an operation of the contract")
            return self._error(404, 20404, "The requested resource was not found")
        resource, operation = match["resource"], self.operations[match["resource"]]
        raw = (await request.read()).decode()
        form = dict(parse_qsl(raw, keep_blank_values=True))
        problems = []
        if not operation.sid_pattern.match(match["sid"]):
            problems.append(f"AccountSid {match['sid']!r} does not match {operation.sid_pattern.pattern}")
        if request.content_type != "application/x-www-form-urlencoded":
            problems.append(f"content type {request.content_type!r}, not application/x-www-form-urlencoded")
        problems += operation.check_form(form)
        if problems:
            self.violations += [f"{resource}: {p}" for p in problems]
            self.requests.append(Recorded(resource, form, 400))
            return self._error(400, 21604, "; ".join(problems))
        if not self._authorised(request, match["sid"]):
            self.requests.append(Recorded(resource, form, 401))
            return self._error(401, 20003, "Authenticate")
        if self._hang:
            self._hang -= 1
            self.requests.append(Recorded(resource, form, 0))
            await self._release.wait()
            return self._error(504, 20504, "the test ended")
        for injection in self.injections:
            if injection.remaining:
                injection.remaining -= 1
                self.requests.append(Recorded(resource, form, injection.status))
                return self._error(injection.status, injection.code, injection.message, injection.headers)
        body = self._created(resource, operation, form)
        self.violations += [f"{resource}: {p}" for p in operation.check_resource(body)]
        self.requests.append(Recorded(resource, form, 201))
        return web.json_response(body, status=201)

    def _authorised(self, request: web.Request, sid: str) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.account_sid, self.token) and sid == self.account_sid

    def _created(self, resource: str, operation: Operation, form: dict[str, str]) -> dict[str, Any]:
        sid = f"{PREFIX[resource]}{next(self._ids):032x}"
        body = dict(operation.example)
        body.update({"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form.get("From"),
                     "status": "queued", "direction": "outbound-api",
                     "uri": f"/2010-04-01/Accounts/{self.account_sid}/{resource}/{sid}.json"})
        if resource == "Messages":
            body.update({"body": form.get("Body"), "messaging_service_sid": None, "date_sent": None})
        else:
            body.update({"duration": None, "start_time": None, "end_time": None, "price": None,
                         "to_formatted": form["To"], "from_formatted": form.get("From")})
        example_sid, example_account = operation.example["sid"], operation.example["account_sid"]
        body["subresource_uris"] = {k: v.replace(example_sid, sid).replace(example_account, self.account_sid)
                                    for k, v in operation.example["subresource_uris"].items()}
        return body

    def _error(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status}
        assert set(body) <= self.operations["Messages"].error_fields
        return web.json_response(body, status=status, headers=headers or {})

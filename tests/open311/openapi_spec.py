"""An OpenAPI 3.1 description of /open311/v2 for the fuzz test (tests/open311/test_fuzz.py).

GeoReport v2 is specified as prose (http://wiki.open311.org/GeoReport_v2), not as OpenAPI; this
is that specification written as OpenAPI so schemathesis can drive every operation in both
formats (``.xml`` and ``.json``). The JSON answers are checked against the schemas of
:mod:`tests.open311.spec_schemas`, written from the spec, not from our code.

``api_key``, ``jurisdiction_id``, ``service_code`` and the coordinates offer the values that work
here (the demo key, a few services of the catalogue the tests load, points inside the demo city),
so generated requests reach filing and routing instead of stopping at the first check; schemathesis'
negative mode sends every other kind of value.
"""
from __future__ import annotations

import copy
from typing import Any

from app.api.schemas import LONG_TEXT, ONE_LINE
from tests.open311 import spec_schemas

PREFIX = "/open311/v2"
SERVICES = ("event-06001", "event-05003", "component-01002", "event-06010")
ATTRIBUTES = {"duration": ["today", "days", "week", "month"], "blocks_way": ["true", "false"]}
AFFECTED = ["pedestrians", "vehicles", "residents", "shops"]


def _answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": copy.deepcopy(schema)},
                                                    "text/xml": {"schema": {"type": "string"}}}}


def _errors(*statuses: str) -> dict[str, Any]:
    texts = {"400": "a parameter is wrong, e.g. has control characters (each error names it)", "403": "missing, unknown or revoked api_key",
             "404": "no such service, request, token, format or jurisdiction", "405": "method not allowed"}
    return {status: _answer(spec_schemas.ERRORS, texts[status]) for status in statuses}


FORMAT = {"name": "format", "in": "path", "required": True, "schema": {"type": "string", "enum": ["json", "xml"]}}
JURISDICTION = {"name": "jurisdiction_id", "in": "query", "schema": {"enum": ["tongguan.demo"]}}
#: a request id: the case's id (any size: too large ones must be a 404 too) or its number TG…
REQUEST_ID = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^TG[0-9]{8,30}$"},
                        {"type": "string"}]}


def _text(max_length: int | None = None, pattern: str = ONE_LINE) -> dict[str, Any]:
    """Text as this server takes it: no control characters (app.core.text), at most ``max_length``."""
    return {"type": "string", "pattern": pattern, **({"maxLength": max_length} if max_length else {})}


def _either(*choices: Any, other: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"enum": list(choices)}, other]}


def post_body() -> dict[str, Any]:
    """POST requests' parameters, form-encoded as GeoReport clients send them."""
    properties: dict[str, Any] = {
        "api_key": {"enum": ["demo"]},
        "service_code": {"enum": [*SERVICES, "event-99999"]},
        "jurisdiction_id": {"enum": ["tongguan.demo"]},
        "lat": {"type": "number", "minimum": 31.15, "maximum": 31.30},
        "long": {"type": "number", "minimum": 121.35, "maximum": 121.55},
        "address_string": _text(300), "address_id": _text(120),
        "email": {"type": "string", "maxLength": 254, "pattern": "^[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[a-z0-9-]+\\.[a-z]{2,6}$"},
        "device_id": _text(120), "account_id": _text(120), "first_name": _text(50), "last_name": _text(50),
        "phone": {"enum": ["13900139000", "021-63211234", "+86 13800138000"]},
        "description": _text(4000, LONG_TEXT),
        "media_url": {"type": "string", "maxLength": 500, "pattern": "^https?://[a-z0-9.-]+/[A-Za-z0-9._~/-]*$"},
        **{f"attribute[{code}]": {"enum": values} for code, values in ATTRIBUTES.items()},
        "attribute[affected][]": {"type": "array", "items": {"enum": AFFECTED}, "uniqueItems": True},
    }
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": properties, "required": ["api_key", "service_code"],
        # the spec's "location": lat and long, or address_string, or address_id
        "anyOf": [{"required": ["lat", "long"]}, {"required": ["address_string"]}, {"required": ["address_id"]}]}}}}


def spec(replays: bool = True) -> dict[str, Any]:
    """The OpenAPI document (a new dict each call: schemathesis may annotate it). Without
    ``replays`` a POST has no Idempotency-Key (a repeated one answers 200 instead of 201, which
    steers a replayed stateful scenario elsewhere)."""
    moment = {"type": "string", "format": "date-time"}
    paths: dict[str, Any] = {
        "/": {"get": {"operationId": "discoveryXml", "responses": {"200": _answer(spec_schemas.DISCOVERY, "discovery")}}},
        "/discovery.{format}": {"get": {
            "operationId": "discovery", "parameters": [FORMAT],
            "responses": {"200": _answer(spec_schemas.DISCOVERY, "discovery"), **_errors("400", "404")}}},
        "/services.{format}": {"get": {
            "operationId": "listServices", "parameters": [FORMAT, JURISDICTION],
            "responses": {"200": _answer(spec_schemas.SERVICES, "services"), **_errors("400", "404")}}},
        "/services/{service_code}.{format}": {"get": {
            "operationId": "serviceDefinition",
            "parameters": [{"name": "service_code", "in": "path", "required": True,
                            "schema": _either(*SERVICES, other=_text())}, FORMAT, JURISDICTION],
            "responses": {"200": _answer(spec_schemas.SERVICE_DEFINITION, "attributes"), **_errors("400", "404")}}},
        "/requests.{format}": {
            "post": {
                "operationId": "createRequest", "parameters": [
                    FORMAT, {"name": "Idempotency-Key", "in": "header",
                             "schema": {"type": "string", "minLength": 1, "maxLength": 120, "pattern": "^[A-Za-z0-9-]+$"}}],
                "requestBody": post_body(),
                "responses": {"201": _answer(spec_schemas.CREATED, "filed"),
                              "200": _answer(spec_schemas.CREATED, "filed earlier (same Idempotency-Key)"),
                              **_errors("400", "403", "404")}},
            "get": {
                "operationId": "listRequests", "parameters": [
                    FORMAT, JURISDICTION,
                    {"name": "service_request_id", "in": "query", "schema": {"anyOf": [
                        REQUEST_ID, {"type": "array", "items": REQUEST_ID}]}, "style": "form", "explode": False},
                    {"name": "service_code", "in": "query", "schema": _either(*SERVICES, other=_text())},
                    {"name": "start_date", "in": "query", "schema": {"anyOf": [moment, _text()]}},
                    {"name": "end_date", "in": "query", "schema": {"anyOf": [moment, _text()]}},
                    {"name": "status", "in": "query", "schema": _either("open", "closed", "open,closed", other=_text())}],
                "responses": {"200": _answer(spec_schemas.REQUESTS, "requests"), **_errors("400", "404")}}},
        "/requests/{service_request_id}.{format}": {"get": {
            "operationId": "getRequest", "parameters": [
                {"name": "service_request_id", "in": "path", "required": True, "schema": REQUEST_ID}, FORMAT,
                JURISDICTION],
            "responses": {"200": _answer(spec_schemas.REQUESTS, "the request"), **_errors("400", "404")}}},
        "/tokens/{token}.{format}": {"get": {
            "operationId": "getToken", "parameters": [
                {"name": "token", "in": "path", "required": True, "schema": _text()}, FORMAT, JURISDICTION],
            "responses": {"200": _answer(spec_schemas.TOKENS, "the token's request"), **_errors("400", "404")}}},
    }
    created = paths["/requests.{format}"]["post"]
    if not replays:
        created["parameters"] = [FORMAT]
    links = {"getRequest": {"operationId": "getRequest", "parameters": {
                 "service_request_id": "$response.body#/0/service_request_id", "format": "json"}},
             "getToken": {"operationId": "getToken", "parameters": {
                 "token": "$response.body#/0/token", "format": "json"}},
             "listRequests": {"operationId": "listRequests", "parameters": {
                 "service_request_id": "$response.body#/0/service_request_id", "format": "json"}}}
    for status in ("201", "200"):
        created["responses"][status]["links"] = copy.deepcopy(links)
    return {"openapi": "3.1.0", "info": {"title": "Tongguan Open311 GeoReport v2", "version": "2"},
            "servers": [{"url": PREFIX}], "paths": paths}

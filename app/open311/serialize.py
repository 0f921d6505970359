"""GeoReport v2 answers in XML (the format the spec requires) and JSON (its Spark mapping).

An answer is built once as plain Python data: a list of dicts under a root and an item element
(``services``/``service``, ``service_requests``/``request``, ``errors``/``error``) or one dict under
a root (``service_definition``, ``discovery``). Lists inside an item are written as a wrapper
element holding one child per entry (``attributes``/``attribute``, ``values``/``value``,
``endpoints``/``endpoint``, ``formats``/``format``), exactly as the spec's examples show; None is
an empty element in XML and null in JSON.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import orjson
from flask import Response

from app.cases.models import LOCAL_TZ

FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
#: the child element of each list-valued field
LIST_ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry


def w3c(moment: datetime | None) -> str | None:
    """A stored UTC time in the W3C profile of ISO 8601 with the city's offset: 2026-11-29T10:00:00+08:00."""
    if moment is None:
        return None
    return moment.astimezone(LOCAL_TZ).replace(microsecond=0).isoformat()


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    return escape(_NOT_XML.sub("", str(value)))


def _element(tag: str, value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        for key, inner in value.items():
            _element(key, inner, out)
        out.append(f"</{tag}>")
    elif isinstance(value, (list, tuple)):
        child = LIST_ITEMS.get(tag, "item")
        out.append(f"<{tag}>")
        for inner in value:
            _element(child, inner, out)
        out.append(f"</{tag}>")
    elif value is None or value == "":
        out.append(f"<{tag}/>")
    else:
        out.append(f"<{tag}>{_scalar(value)}</{tag}>")


def xml_document(root: str, body: Any, item: str | None = None) -> bytes:
    """``body`` under ``root``: a list with one ``item`` element per entry, or a dict's fields."""
    out: list[str] = [DECLARATION, f"<{root}>"]
    if isinstance(body, list):
        assert item is not None
        for entry in body:
            _element(item, entry, out)
    else:
        for key, value in body.items():
            _element(key, value, out)
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")


ROOTS = {"services": ("services", "service"), "requests": ("service_requests", "request"),
         "errors": ("errors", "error"), "service_definition": ("service_definition", None),
         "discovery": ("discovery", None)}


def answer(kind: str, body: Any, fmt: str, status: int = 200) -> Response:
    """The HTTP answer of one resource ``kind`` (a key of ROOTS) in ``fmt``."""
    if fmt == "json":
        data = orjson.dumps(body)
    else:
        root, item = ROOTS[kind]
        data = xml_document(root, body, item)
    return Response(data, status=status, content_type=CONTENT_TYPES[fmt])

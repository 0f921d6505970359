"""JSON Schemas of GeoReport v2's JSON answers, written from the specification
(http://wiki.open311.org/GeoReport_v2, and the field lists Open311 publishes for validating
servers): the required fields, their types, and the enumerations the spec fixes."""
from __future__ import annotations

from typing import Any

NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
DATETIME: dict[str, Any] = {"type": "string", "format": "date-time"}

SERVICE: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "service_name", "metadata", "type"],
    "properties": {
        "service_code": {"type": "string"}, "service_name": {"type": "string"}, "description": NULLABLE_STRING,
        "metadata": {"type": "boolean"}, "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": NULLABLE_STRING, "group": NULLABLE_STRING,
    },
}
SERVICES: dict[str, Any] = {"type": "array", "items": SERVICE}

SERVICE_DEFINITION: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {
        "service_code": {"type": "string"},
        "attributes": {"type": "array", "items": {
            "type": "object",
            "required": ["variable", "code", "datatype", "required"],
            "properties": {
                "variable": {"type": "boolean"}, "code": {"type": "string"},
                "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
                "required": {"type": "boolean"}, "datatype_description": NULLABLE_STRING,
                "order": {"type": ["integer", "null"], "minimum": 1}, "description": NULLABLE_STRING,
                "values": {"type": "array", "items": {"type": "object", "required": ["key", "name"],
                                                      "properties": {"key": {"type": "string"},
                                                                     "name": {"type": "string"}}}},
            },
        }},
    },
}

REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["service_request_id", "status", "service_code", "requested_datetime"],
    "properties": {
        "service_request_id": {"type": "string"}, "status": {"enum": ["open", "closed"]},
        "status_notes": NULLABLE_STRING, "service_name": NULLABLE_STRING, "service_code": {"type": "string"},
        "description": {"type": ["string", "null"], "maxLength": 4000}, "agency_responsible": NULLABLE_STRING,
        "service_notice": NULLABLE_STRING, "requested_datetime": DATETIME,
        "updated_datetime": {"anyOf": [DATETIME, {"type": "null"}]},
        "expected_datetime": {"anyOf": [DATETIME, {"type": "null"}]},
        "address": NULLABLE_STRING, "address_id": NULLABLE_STRING, "zipcode": NULLABLE_STRING,
        "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]},
        "media_url": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]},
    },
}
REQUESTS: dict[str, Any] = {"type": "array", "items": REQUEST}

CREATED: dict[str, Any] = {
    "type": "array", "minItems": 1, "maxItems": 1,
    "items": {"type": "object", "required": ["service_request_id"],
              "properties": {"service_request_id": {"type": "string"}, "token": NULLABLE_STRING,
                             "service_notice": NULLABLE_STRING, "account_id": NULLABLE_STRING}},
}
TOKENS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "object", "required": ["service_request_id", "token"],
              "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}}},
}
ERRORS: dict[str, Any] = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["code", "description"], "additionalProperties": False,
              "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
}
DISCOVERY: dict[str, Any] = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": {"type": "string"}, "contact": {"type": "string"}, "key_service": {"type": "string"},
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["specification", "url", "changeset", "type", "formats"],
            "properties": {"specification": {"type": "string"}, "url": {"type": "string"},
                           "changeset": {"type": "string"}, "type": {"enum": ["production", "test"]},
                           "formats": {"type": "array", "items": {"type": "string"}}}}},
    },
}

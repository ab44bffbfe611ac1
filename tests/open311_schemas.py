"""JSON schemas for Open311 GeoReport v2 answers, written by hand from the spec text
(open311/open311.github.io, GeoReport/v2: "GET Service List", "GET Service Definition",
"GET Service Requests", errors; Service_Discovery for discovery). Not fetched: the tests run
offline. Strings where the spec says ids and codes are strings; ``additionalProperties`` stays
open, as the spec allows extensions."""

from __future__ import annotations

STRING = {"type": "string"}
DATETIME = {"type": "string", "format": "date-time"}

SERVICES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_code", "service_name", "metadata", "type"],
        "properties": {
            "service_code": STRING,
            "service_name": STRING,
            "description": STRING,
            "metadata": {"type": "boolean"},
            "type": {"enum": ["realtime", "batch", "blackbox"]},
            "keywords": STRING,
            "group": STRING,
        },
    },
}

SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {
        "service_code": STRING,
        "attributes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["variable", "code", "datatype", "required", "order", "description"],
                "properties": {
                    "variable": {"type": "boolean"},
                    "code": STRING,
                    "datatype": {
                        "enum": [
                            "string",
                            "number",
                            "datetime",
                            "text",
                            "singlevaluelist",
                            "multivaluelist",
                        ]
                    },
                    "required": {"type": "boolean"},
                    "datatype_description": STRING,
                    "order": {"type": "integer"},
                    "description": STRING,
                    "values": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["key", "name"],
                            "properties": {"key": STRING, "name": STRING},
                        },
                    },
                },
            },
        },
    },
}

SERVICE_REQUESTS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_request_id", "status", "requested_datetime"],
        "properties": {
            "service_request_id": STRING,
            "status": {"enum": ["open", "closed"]},
            "status_notes": STRING,
            "service_name": STRING,
            "service_code": STRING,
            "description": STRING,
            "agency_responsible": STRING,
            "service_notice": STRING,
            "requested_datetime": DATETIME,
            "updated_datetime": DATETIME,
            "expected_datetime": DATETIME,
            "address": STRING,
            "address_id": STRING,
            "zipcode": STRING,
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "long": {"type": "number", "minimum": -180, "maximum": 180},
            "media_url": {"type": "string", "format": "uri"},
        },
    },
}

ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": STRING},
    },
}

DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "endpoints"],
    "properties": {
        "changeset": DATETIME,
        "contact": STRING,
        "key_service": STRING,
        "endpoints": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["specification", "url", "changeset", "type", "formats"],
                "properties": {
                    "specification": STRING,
                    "url": STRING,
                    "changeset": DATETIME,
                    "type": {"enum": ["production", "test"]},
                    "formats": {"type": "array", "items": STRING},
                },
            },
        },
    },
}

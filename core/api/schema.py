"""The OpenAPI document's error answers, declared once for every /api/crm/ operation.

Views declare what they return when things go well; `declare_error_responses` (a
drf-spectacular postprocessing hook) adds what the shared machinery answers when they
do not: authentication, permissions, throttling, validation, missing records, conflicts
and oversized or unsupported bodies, in the shapes core.api.exceptions produces.
A view that documents one of these codes itself keeps its own.
"""

API_PREFIX = "/api/crm/"
WRITE_METHODS = {"post", "put", "patch", "delete"}
METHODS = WRITE_METHODS | {"get"}

ERROR_SCHEMAS = {
    "ErrorDetail": {
        "type": "object",
        "description": 'One message about the whole request: `{"detail": "message"}`.',
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            'What to fix, by field: `{"field": ["message", ...]}`. Errors about the request '
            "as a whole come under `detail` or `non_field_errors`; a malformed body gives "
            '`{"detail": "message"}`. Fields holding lists or objects report by index or key, '
            'e.g. `{"ids": {"0": ["A valid integer is required."]}}`.'
        ),
        "minProperties": 1,
        "additionalProperties": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {}},
                {"type": "object"},
            ]
        },
        "example": {"email": ["A contact with this email already exists."]},
    },
}

HEADERS = {
    "WWW-Authenticate": {
        "description": "`Bearer`: send `Authorization: Bearer <token>`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before the next request.",
        "required": True,
        "schema": {"type": "integer"},
    },
}

# status code -> (description, error schema, response headers)
ERRORS = {
    "400": ("The request is invalid; the body says what to fix.", "ValidationError", []),
    "401": (
        "No valid token: missing, unknown, expired or revoked.",
        "ErrorDetail",
        ["WWW-Authenticate"],
    ),
    "403": ("The token's user lacks the permission this needs.", "ErrorDetail", []),
    "404": ("No such record, related record or page.", "ErrorDetail", []),
    "409": (
        "Conflicts with the current data (e.g. still in use); nothing changed.",
        "ErrorDetail",
        [],
    ),
    "413": ("The request body is too large.", "ErrorDetail", []),
    "415": ("Unsupported Content-Type for the body.", "ErrorDetail", []),
    "429": ("Too many requests from this user: wait, then retry.", "ErrorDetail", ["Retry-After"]),
}


def _error_codes(path: str, method: str, operation: dict) -> list[str]:
    """The error answers the shared machinery can give for this operation."""
    parameters = operation.get("parameters", [])
    in_query = [p for p in parameters if p.get("in") == "query"]
    has_body = "requestBody" in operation
    codes = ["401", "403", "429"]
    if has_body or in_query:
        codes.append("400")  # body validation, malformed JSON, invalid filter values
    if "{" in path or any(p["name"] == "page" for p in in_query):
        codes.append("404")  # unknown id in the path, page past the end
    if method in WRITE_METHODS:
        codes.append("409")  # lost uniqueness race, record still referred to
    if has_body:
        codes += ["413", "415"]
    return codes


def _error_response(code: str, media_types: list[str]) -> dict:
    description, schema_name, header_names = ERRORS[code]
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}
    if "text/csv" in media_types:
        # With `Accept: text/csv` the CSV endpoints answer errors as the bare message.
        content["text/csv"] = {"schema": {"type": "string"}}
    response = {"description": description, "content": content}
    if header_names:
        response["headers"] = {name: HEADERS[name] for name in header_names}
    return response


def declare_error_responses(result, generator, request, public):
    """Postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            success_types = {
                media_type
                for code, response in responses.items()
                if code.startswith("2")
                for media_type in response.get("content", {})
            }
            for code in _error_codes(path, method, operation):
                responses.setdefault(code, _error_response(code, sorted(success_types)))
    return result

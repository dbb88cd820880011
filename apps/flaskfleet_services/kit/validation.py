"""Request input: strict JSON bodies and query strings, or a 4xx JSON error.

Nothing is trusted: the media type, the encoding, the JSON syntax, the nesting, the types, missing
and unknown fields, the sizes. Numbers with a fraction are parsed as Decimal (never float), so
prices stay exact.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from werkzeug.routing import BaseConverter

from .errors import ApiError

M = TypeVar("M", bound=BaseModel)
MAX_ID = 2**63 - 1  # PostgreSQL bigint


class IdConverter(BaseConverter):
    """``<id:user_id>``: a positive integer of at most 19 digits. The path pattern (not a
    converter check, which werkzeug would turn into a 405) rejects everything else; values
    above 2**63-1 are refused as 404 by ``reject_impossible_ids``."""

    regex = r"[1-9][0-9]{0,18}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def reject_impossible_ids(_endpoint, values) -> None:
    """Flask url_value_preprocessor: an id beyond bigint cannot exist."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and value > MAX_ID:
            raise ApiError(404, "not_found", f"no resource with {name} {value}", {name: value})


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _no_control_chars(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("control characters are not allowed")
    return value


CleanStr = Annotated[str, AfterValidator(_no_control_chars)]


def text(min_length: int, max_length: int):
    """A string type: surrounding whitespace stripped, then length-checked, no control chars."""

    def check(value: str) -> str:
        value = _no_control_chars(value.strip())
        if not min_length <= len(value) <= max_length:
            raise ValueError(f"must be {min_length} to {max_length} characters")
        return value

    return Annotated[str, AfterValidator(check)]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_body(model: type[M]) -> M:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json",
                       {"content_type": request.mimetype or None})
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH
    try:
        text = raw.decode("utf-8")
        payload = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, json.JSONDecodeError) else exc.__class__.__name__
        raise ApiError(400, "malformed_json", "the body is not valid UTF-8 JSON",
                       {"reason": detail[:200]}) from None
    if not isinstance(payload, dict):
        raise ApiError(422, "validation_failed", "the body must be a JSON object",
                       {"fields": [{"field": "", "message": "expected an object"}]})
    return validate(model, payload)


def validate(model: type[M], payload: dict) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"],
             "type": err["type"]}
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise ApiError(422, "validation_failed", "the request is invalid",
                       {"fields": fields}) from None


def query_args(spec: dict[str, tuple[int, int, int | None]]) -> dict[str, int | None]:
    """Integer query parameters {name: (min, max, default)}; unknown or bad ones are a 400."""
    unknown = sorted(set(request.args) - set(spec))
    if unknown:
        raise ApiError(400, "invalid_query", "unknown query parameter",
                       {"parameters": unknown, "allowed": sorted(spec)})
    values: dict[str, int | None] = {}
    for name, (low, high, default) in spec.items():
        raw = request.args.getlist(name)
        if not raw:
            values[name] = default
            continue
        if len(raw) > 1 or not raw[0].isascii() or not raw[0].isdigit() or len(raw[0]) > 19:
            raise ApiError(400, "invalid_query", f"{name} must be one integer {low}..{high}",
                           {"parameter": name})
        value = int(raw[0])
        if not low <= value <= high:
            raise ApiError(400, "invalid_query", f"{name} must be one integer {low}..{high}",
                           {"parameter": name})
        values[name] = value
    return values


PAGE = {"limit": (1, 100, 20), "after": (0, MAX_ID, 0)}

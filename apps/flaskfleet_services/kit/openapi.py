"""A small OpenAPI 3.1 builder: routes declare their contract next to their code.

``@operation(...)`` records summary, body model, query parameters and responses on the view;
``install(app)`` serves ``/openapi.json`` built from the app's URL map, so every route is in it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, jsonify
from pydantic import BaseModel

from .errors import HTTP_CODES


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any


class ErrorBody(BaseModel):
    error: ErrorDetail


def operation(summary: str, *, body: type[BaseModel] | None = None,
              responses: dict[int, type[BaseModel] | None] | None = None,
              query: dict[str, str] | None = None, tags: tuple[str, ...] = (),
              auth: bool = False):
    def decorate(view):
        view.openapi = {"summary": summary, "body": body, "responses": responses or {},
                        "query": query or {}, "tags": tags, "auth": auth}
        return view

    return decorate


def _drop_null_defaults(node):
    """Optional-but-not-nullable fields (PATCH bodies) have an internal None default that is
    no valid value: leave it out of the document."""
    if isinstance(node, dict):
        if node.get("default", 0) is None:
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)
    return node


def _schema(model: type[BaseModel], components: dict) -> dict:
    schema = _drop_null_defaults(model.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"))
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build(app: Flask, title: str, description: str) -> dict:
    components: dict[str, Any] = {}
    error_ref = _schema(ErrorBody, components)
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "openapi", {"summary": rule.endpoint, "responses": {200: None},
                                         "query": {}, "tags": (), "body": None, "auth": False})
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"operationId": f"{rule.endpoint}_{method.lower()}",
                                  "summary": meta["summary"], "responses": {}}
            if meta["tags"]:
                op["tags"] = list(meta["tags"])
            params = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 1}}
                      for name in rule.arguments]
            params += [{"name": name, "in": "query", "required": False,
                        "description": text, "schema": {"type": "integer"}}
                       for name, text in meta["query"].items()]
            if params:
                op["parameters"] = params
            if meta["body"] is not None:
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": _schema(meta["body"], components)}}}
            for status, model in meta["responses"].items():
                entry: dict[str, Any] = {"description": HTTP_CODES.get(status, "ok")
                                         if status >= 400 else "success"}
                if status >= 400:
                    entry["content"] = {"application/json": {"schema": error_ref}}
                elif model is not None:
                    entry["content"] = {"application/json": {"schema": _schema(model,
                                                                               components)}}
                op["responses"][str(status)] = entry
            op["responses"].setdefault("default", {
                "description": "error", "content": {"application/json": {"schema": error_ref}}})
            if meta["auth"]:
                op["security"] = [{"apiKey": []}, {"bearer": []}]
            paths.setdefault(path, {})[method.lower()] = op
    doc = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components, "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "bearer": {"type": "http", "scheme": "bearer"}}},
    }
    return doc


def install(app: Flask, title: str, description: str) -> None:
    @app.get("/openapi.json")
    @operation("This OpenAPI document", responses={200: None})
    def openapi_document():
        return jsonify(build(app, title, description))

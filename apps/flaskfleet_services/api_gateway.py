"""api-gateway: the public API. Every /api request needs an API key; the gateway finds healthy
instances through discovery and forwards to user-service and order-service.

    /api/users[...], /api/orders[...]      forwarded (same methods, bodies and answers)
    GET /api/users/<id>/with-orders         composition: a user and their orders

Upstream failures are answered with JSON 502 (failed / unreachable), 503 (no healthy
instance) or 504 (timeout); upstream 4xx answers pass through unchanged.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BaseModel

from .kit import create_service_app
from .kit import discovery as kit_discovery
from .kit import health as kit_health
from .kit import http as kit_http
from .kit import openapi as kit_openapi
from .kit.config import UPSTREAMS, Setting, static_upstreams
from .kit.errors import ApiError
from .kit.http import UpstreamClient
from .kit.security import parse_api_keys, require_api_key
from .kit.validation import query_args
from .schemas import OrderCreate, OrderOut, OrderPage, UserCreate, UserOut, UserPage, UserUpdate

SERVICE = "api-gateway"
USER_SERVICE = "user-service"
ORDER_SERVICE = "order-service"

GATEWAY = (
    Setting("API_KEYS", "FLASKFLEET_API_KEYS", parse_api_keys, None, required=True,
            doc="NAME:SHA256HEX,... digests of the accepted API keys"),
)


class UserWithOrders(BaseModel):
    user: UserOut
    orders: list[OrderOut]
    orders_next_after: int | None


def _client() -> UpstreamClient:
    return current_app.extensions["flaskfleet.upstreams"]


def _relay(upstream_response, upstream: str) -> Response:
    """Pass an upstream answer through; a 5xx or a non-JSON answer becomes a 502."""
    status = upstream_response.status_code
    is_json = upstream_response.headers.get("Content-Type", "").startswith("application/json")
    if status >= 500 or (status != 204 and not is_json):
        raise ApiError(502, "bad_gateway", f"{upstream} failed",
                       {"upstream": upstream, "status": status})
    response = Response(upstream_response.content if status != 204 else b"", status=status,
                        content_type=upstream_response.headers.get("Content-Type"))
    if upstream_response.headers.get("Location"):
        response.headers["Location"] = "/api" + upstream_response.headers["Location"]
    return response


def forward(upstream: str, path: str) -> Response:
    data = None
    headers = {}
    has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers
    if has_body:
        if request.mimetype != "application/json":
            raise ApiError(415, "unsupported_media_type", "send the body as application/json",
                           {"content_type": request.mimetype or None})
        data = request.get_data()  # 413 past MAX_CONTENT_LENGTH, before anything is sent
    if request.content_type:
        headers["Content-Type"] = request.content_type
    response = _client().request(upstream, request.method, path,
                                 params=list(request.args.items(multi=True)), data=data,
                                 headers=headers)
    return _relay(response, upstream)


bp = Blueprint("public", __name__, url_prefix="/api")
ERRORS = {400: None, 401: None, 413: None, 415: None, 422: None, 502: None, 503: None,
          504: None}


def _op(summary: str, **kwargs):
    return kit_openapi.operation(summary, auth=True, **kwargs)


@bp.post("/users")
@_op("Create a user", body=UserCreate, responses={201: UserOut, 409: None, **ERRORS},
     tags=("users",))
def create_user():
    return forward(USER_SERVICE, "/users")


@bp.get("/users")
@_op("List users", responses={200: UserPage, **ERRORS},
     query={"limit": "1..100 (20)", "after": "next_after of the previous page"},
     tags=("users",))
def list_users():
    return forward(USER_SERVICE, "/users")


@bp.get("/users/<id:user_id>")
@_op("Read a user", responses={200: UserOut, 404: None, **ERRORS}, tags=("users",))
def get_user(user_id: int):
    return forward(USER_SERVICE, f"/users/{user_id}")


@bp.patch("/users/<id:user_id>")
@_op("Update a user", body=UserUpdate, responses={200: UserOut, 404: None, 409: None, **ERRORS},
     tags=("users",))
def update_user(user_id: int):
    return forward(USER_SERVICE, f"/users/{user_id}")


@bp.delete("/users/<id:user_id>")
@_op("Delete a user", responses={204: None, 404: None, **ERRORS}, tags=("users",))
def delete_user(user_id: int):
    return forward(USER_SERVICE, f"/users/{user_id}")


@bp.get("/users/<id:user_id>/with-orders")
@_op("A user with their orders (composed from user-service and order-service)",
     responses={200: UserWithOrders, 404: None, **ERRORS},
     query={"limit": "orders per page, 1..100 (20)", "after": "orders_next_after"},
     tags=("users", "orders"))
def user_with_orders(user_id: int):
    page = query_args({"limit": (1, 100, 20), "after": (0, 2**63 - 1, 0)})
    user = _client().request(USER_SERVICE, "GET", f"/users/{user_id}")
    if user.status_code != 200:
        return _relay(user, USER_SERVICE)
    orders = _client().request(ORDER_SERVICE, "GET", "/orders",
                               params={"user_id": user_id, **page})
    if orders.status_code != 200:
        raise ApiError(502, "bad_gateway", f"{ORDER_SERVICE} failed",
                       {"upstream": ORDER_SERVICE, "status": orders.status_code})
    try:
        user_doc, orders_doc = user.json(), orders.json()
        return jsonify({"user": user_doc, "orders": orders_doc["items"],
                        "orders_next_after": orders_doc["next_after"]})
    except (ValueError, KeyError, TypeError):
        raise ApiError(502, "bad_gateway", "an upstream answered with an unexpected body",
                       {"upstream": ORDER_SERVICE}) from None


@bp.post("/orders")
@_op("Create an order", body=OrderCreate, responses={201: OrderOut, **ERRORS},
     tags=("orders",))
def create_order():
    return forward(ORDER_SERVICE, "/orders")


@bp.get("/orders")
@_op("List orders", responses={200: OrderPage, **ERRORS},
     query={"user_id": "only this user's orders", "limit": "1..100 (20)",
            "after": "next_after of the previous page"}, tags=("orders",))
def list_orders():
    return forward(ORDER_SERVICE, "/orders")


@bp.get("/orders/<id:order_id>")
@_op("Read an order", responses={200: OrderOut, 404: None, **ERRORS}, tags=("orders",))
def get_order(order_id: int):
    return forward(ORDER_SERVICE, f"/orders/{order_id}")


@bp.post("/orders/<id:order_id>/cancel")
@_op("Cancel an order", responses={200: OrderOut, 404: None, 409: None, **ERRORS},
     tags=("orders",))
def cancel_order(order_id: int):
    return forward(ORDER_SERVICE, f"/orders/{order_id}/cancel")


def create_app(test_config: dict | None = None) -> Flask:
    app = create_service_app(__name__, SERVICE, (*UPSTREAMS, *GATEWAY), test_config,
                             internal=False)
    require_api_key(app, "/api/")
    upstreams = (test_config or {}).get("STATIC_UPSTREAMS") or static_upstreams(
        None, (USER_SERVICE, ORDER_SERVICE))
    discovery = (test_config or {}).get("DISCOVERY_CLIENT") or kit_discovery.from_config(
        app.config, upstreams)
    app.extensions["flaskfleet.discovery"] = discovery
    app.extensions["flaskfleet.upstreams"] = kit_http.from_app(app, discovery, SERVICE)
    app.register_blueprint(bp)
    kit_health.install(app, {"discovery": (discovery.check, True)})
    kit_openapi.install(app, "flaskfleet api-gateway",
                        "The public API. Every /api request needs an API key "
                        "(Authorization: Bearer <key> or X-API-Key).")
    return app

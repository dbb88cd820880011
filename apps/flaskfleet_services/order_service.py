"""order-service: orders (user id, items with quantity and exact unit price, total, status) in
PostgreSQL. Internal: called by the gateway only. Checks through discovery that the user exists.

    POST /orders                            create (user must exist)   201, 422 unknown user
    GET  /orders?user_id=&limit=&after=     list (keyset)              200
    GET  /orders/<id>                       read                       200, 404
    POST /orders/<id>/cancel                cancel                     200, 404, 409 not cancellable
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from .kit import create_service_app
from .kit import db as kit_db
from .kit import discovery as kit_discovery
from .kit import health as kit_health
from .kit import http as kit_http
from .kit import openapi as kit_openapi
from .kit.config import DATABASE, INTERNAL, UPSTREAMS, static_upstreams
from .kit.db import ExactDecimal
from .kit.errors import ApiError
from .kit.http import UpstreamClient
from .kit.validation import MAX_ID, PAGE, json_body, query_args
from .schemas import CENT, OrderCreate, OrderOut, OrderPage

SERVICE = "order-service"
MIGRATIONS = "order_service"
USER_SERVICE = "user-service"


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("status IN ('created', 'cancelled')", name="ck_orders_status"),
        CheckConstraint("total >= 0", name="ck_orders_total"),
        Index("ix_orders_user_id_id", "user_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[Decimal] = mapped_column(ExactDecimal(14, 2))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    items: Mapped[list[OrderItem]] = relationship(order_by="OrderItem.position",
                                                  cascade="all, delete-orphan")


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_order_items_quantity"),
        CheckConstraint("unit_price >= 0", name="ck_order_items_unit_price"),
        UniqueConstraint("order_id", "position", name="uq_order_items_position"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id",
                                                                 ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2))


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def to_json(order: Order) -> dict:
    return {
        "id": order.id, "user_id": order.user_id, "status": order.status,
        "items": [{"sku": i.sku, "quantity": i.quantity, "unit_price": str(i.unit_price),
                   "line_total": str((i.unit_price * i.quantity).quantize(CENT))}
                  for i in order.items],
        "total": str(order.total), "version": order.version,
        "created_at": _iso(order.created_at), "updated_at": _iso(order.updated_at),
    }


def _load(session, order_id: int) -> Order:
    order = session.scalars(select(Order).options(selectinload(Order.items))
                            .where(Order.id == order_id)).first()
    if order is None:
        raise ApiError(404, "not_found", f"order {order_id} does not exist", {"id": order_id})
    return order


def _require_user(user_id: int) -> None:
    client: UpstreamClient = current_app.extensions["flaskfleet.upstreams"]
    response = client.request(USER_SERVICE, "GET", f"/users/{user_id}")
    if response.status_code == 404:
        raise ApiError(422, "unknown_user", f"user {user_id} does not exist",
                       {"fields": [{"field": "user_id", "message": "no such user"}]})
    if response.status_code != 200:
        raise ApiError(502, "bad_gateway", "user-service gave an unexpected answer",
                       {"upstream": USER_SERVICE, "status": response.status_code})


bp = Blueprint("orders", __name__)
ERRORS = {400: None, 403: None, 413: None, 415: None, 422: None}


@bp.post("/orders")
@kit_openapi.operation("Create an order for an existing user", body=OrderCreate,
                       responses={201: OrderOut, 502: None, 503: None, 504: None, **ERRORS},
                       tags=("orders",))
def create_order():
    payload = json_body(OrderCreate)
    _require_user(payload.user_id)
    now = datetime.now(UTC)
    items = [OrderItem(position=n, sku=i.sku, quantity=i.quantity, unit_price=i.unit_price)
             for n, i in enumerate(payload.items)]
    total = sum((i.unit_price * i.quantity for i in items), Decimal(0)).quantize(CENT)
    order = Order(user_id=payload.user_id, status="created", total=total, version=1,
                  created_at=now, updated_at=now, items=items)
    session = kit_db.session()
    session.add(order)
    session.commit()  # order and items in one transaction
    response = jsonify(to_json(order))
    response.status_code = 201
    response.headers["Location"] = f"/orders/{order.id}"
    return response


@bp.get("/orders")
@kit_openapi.operation("List orders, oldest first, optionally of one user",
                       responses={200: OrderPage, 400: None},
                       query={"user_id": "only this user's orders", "limit": "1..100 (20)",
                              "after": "orders with an id above this (next_after)"},
                       tags=("orders",))
def list_orders():
    args = query_args({**PAGE, "user_id": (1, MAX_ID, None)})
    query = (select(Order).options(selectinload(Order.items)).where(Order.id > args["after"])
             .order_by(Order.id).limit(args["limit"] + 1))
    if args["user_id"] is not None:
        query = query.where(Order.user_id == args["user_id"])
    orders = kit_db.read_session().scalars(query).all()
    more = len(orders) > args["limit"]
    orders = orders[:args["limit"]]
    return jsonify({"items": [to_json(o) for o in orders],
                    "next_after": orders[-1].id if more else None})


@bp.get("/orders/<id:order_id>")
@kit_openapi.operation("Read an order", responses={200: OrderOut, 404: None}, tags=("orders",))
def get_order(order_id: int):
    return jsonify(to_json(_load(kit_db.read_session(), order_id)))


@bp.post("/orders/<id:order_id>/cancel")
@kit_openapi.operation("Cancel an order that is not cancelled yet",
                       responses={200: OrderOut, 404: None, 409: None}, tags=("orders",))
def cancel_order(order_id: int):
    session = kit_db.session()
    # One conditional UPDATE: of two concurrent cancels exactly one wins.
    result = session.execute(
        update(Order).where(Order.id == order_id, Order.status == "created")
        .values(status="cancelled", version=Order.version + 1, updated_at=datetime.now(UTC)))
    session.commit()
    order = _load(session, order_id)
    if result.rowcount == 0:
        raise ApiError(409, "not_cancellable", f"order {order_id} is already {order.status}",
                       {"id": order_id, "status": order.status})
    return jsonify(to_json(order))


def create_app(test_config: dict | None = None) -> Flask:
    app = create_service_app(__name__, SERVICE, (*DATABASE, *INTERNAL, *UPSTREAMS), test_config,
                             internal=True, api_prefixes=("/orders",))
    database = kit_db.install(app)
    upstreams = (test_config or {}).get("STATIC_UPSTREAMS") or static_upstreams(
        None, (USER_SERVICE,))
    discovery = (test_config or {}).get("DISCOVERY_CLIENT") or kit_discovery.from_config(
        app.config, upstreams)
    app.extensions["flaskfleet.discovery"] = discovery
    app.extensions["flaskfleet.upstreams"] = kit_http.from_app(app, discovery, SERVICE)
    app.register_blueprint(bp)

    def user_service_known() -> tuple[bool, str]:
        return True, f"{len(discovery.instances(USER_SERVICE))} instance(s)"

    kit_health.install(app, {"database": (database.check, True),
                             # reads and cancels work without user-service: reported only
                             "user-service": (user_service_known, False)})
    kit_openapi.install(app, "flaskfleet order-service",
                        "Orders. Internal: reached through the api-gateway only.")

    @app.cli.command("migrate")
    def migrate_command():
        """Create or migrate the order-service schema."""
        current_app.extensions["flaskfleet.db"].upgrade(MIGRATIONS)
        print("order-service schema is at the latest revision")

    return app

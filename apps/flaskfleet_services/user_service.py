"""user-service: users (name, unique email) in PostgreSQL. Internal: called by the gateway and
order-service only.

    POST   /users                     create          201, 409 email taken
    GET    /users?limit=&after=       list (keyset)   200
    GET    /users/<id>                read            200, 404
    PATCH  /users/<id>                update          200, 404, 409
    DELETE /users/<id>                delete          204, 404
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import BigInteger, DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .kit import create_service_app
from .kit import db as kit_db
from .kit import health as kit_health
from .kit import openapi as kit_openapi
from .kit.config import DATABASE, INTERNAL
from .kit.errors import ApiError
from .kit.validation import PAGE, json_body, query_args
from .schemas import UserCreate, UserOut, UserPage, UserUpdate

SERVICE = "user-service"
MIGRATIONS = "user_service"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email", name="uq_users_email"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite keeps no zone; we always store UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def to_json(user: User) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email, "version": user.version,
            "created_at": _iso(user.created_at), "updated_at": _iso(user.updated_at)}


def _email_taken(email: str) -> ApiError:
    return ApiError(409, "email_taken", "a user with this email already exists",
                    {"field": "email"})


def _get_or_404(session, user_id: int, *, lock: bool = False) -> User:
    query = select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()
    user = session.scalars(query).first()
    if user is None:
        raise ApiError(404, "not_found", f"user {user_id} does not exist", {"id": user_id})
    return user


bp = Blueprint("users", __name__)
ERRORS = {400: None, 403: None, 413: None, 415: None, 422: None}


@bp.post("/users")
@kit_openapi.operation("Create a user", body=UserCreate,
                       responses={201: UserOut, 409: None, **ERRORS}, tags=("users",))
def create_user():
    payload = json_body(UserCreate)
    session = kit_db.session()
    now = datetime.now(UTC)
    user = User(name=payload.name, email=payload.email, version=1, created_at=now,
                updated_at=now)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _email_taken(payload.email) from None
    response = jsonify(to_json(user))
    response.status_code = 201
    response.headers["Location"] = f"/users/{user.id}"
    return response


@bp.get("/users")
@kit_openapi.operation("List users, oldest first, by pages", responses={200: UserPage, 400: None},
                       query={"limit": "page size, 1..100 (20)",
                              "after": "return users with an id above this (next_after)"},
                       tags=("users",))
def list_users():
    page = query_args(PAGE)
    limit = page["limit"]
    users = kit_db.read_session().scalars(
        select(User).where(User.id > page["after"]).order_by(User.id).limit(limit + 1)).all()
    more = len(users) > limit
    users = users[:limit]
    return jsonify({"items": [to_json(u) for u in users],
                    "next_after": users[-1].id if more else None})


@bp.get("/users/<id:user_id>")
@kit_openapi.operation("Read a user", responses={200: UserOut, 404: None}, tags=("users",))
def get_user(user_id: int):
    return jsonify(to_json(_get_or_404(kit_db.read_session(), user_id)))


@bp.patch("/users/<id:user_id>")
@kit_openapi.operation("Change a user's name and/or email", body=UserUpdate,
                       responses={200: UserOut, 404: None, 409: None, **ERRORS},
                       tags=("users",))
def update_user(user_id: int):
    payload = json_body(UserUpdate)
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        raise ApiError(422, "validation_failed", "nothing to update",
                       {"fields": [{"field": "", "message": "give name and/or email"}]})
    session = kit_db.session()
    # The row lock serialises concurrent updates of one user: none is lost.
    user = _get_or_404(session, user_id, lock=True)
    for field, value in changes.items():
        setattr(user, field, value)
    user.version += 1
    user.updated_at = datetime.now(UTC)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _email_taken(changes.get("email", "")) from None
    return jsonify(to_json(user))


@bp.delete("/users/<id:user_id>")
@kit_openapi.operation("Delete a user", responses={204: None, 404: None}, tags=("users",))
def delete_user(user_id: int):
    session = kit_db.session()
    user = _get_or_404(session, user_id, lock=True)
    session.delete(user)
    session.commit()
    return "", 204


def count_users(app: Flask) -> int:
    with app.app_context():
        return kit_db.session().scalar(select(func.count()).select_from(User))


def create_app(test_config: dict | None = None) -> Flask:
    app = create_service_app(__name__, SERVICE, (*DATABASE, *INTERNAL), test_config,
                             internal=True, api_prefixes=("/users",))
    database = kit_db.install(app)
    app.register_blueprint(bp)
    kit_health.install(app, {"database": (database.check, True)})
    kit_openapi.install(app, "flaskfleet user-service",
                        "Users. Internal: reached through the api-gateway only.")

    @app.cli.command("migrate")
    def migrate_command():
        """Create or migrate the user-service schema."""
        current_app.extensions["flaskfleet.db"].upgrade(MIGRATIONS)
        print("user-service schema is at the latest revision")

    return app

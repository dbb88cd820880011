"""The API contracts of user-service and order-service (request and response bodies).

Pydantic only, no database: the gateway imports these for its OpenAPI document without loading
SQLAlchemy. Request models are strict: unknown fields, wrong types and nulls are refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from .kit.validation import MAX_ID, StrictModel, text

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CENT = Decimal("0.01")
MAX_PRICE = Decimal("9999999999.99")  # NUMERIC(12, 2)
MAX_TOTAL = Decimal("999999999999.99")  # NUMERIC(14, 2)


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL_RE.fullmatch(value):
        raise ValueError("not an email address")
    return value


Name = text(1, 200)
Email = Annotated[text(3, 254), AfterValidator(_email)]


class UserCreate(StrictModel):
    name: Name
    email: Email


class UserUpdate(StrictModel):
    # Defaults are not validated, so an omitted field stays None while an explicit null fails.
    name: Name = None  # type: ignore[assignment]
    email: Email = None  # type: ignore[assignment]


class UserOut(BaseModel):
    id: int
    name: str
    email: str
    version: int
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    next_after: int | None


def _exact_price(value: object) -> Decimal:
    """"12.30" or 12.30 (parsed as Decimal, never float); at most 2 decimal places."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError("unit_price must be a decimal string such as \"12.30\"")
    try:
        price = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError("unit_price must be a decimal string such as \"12.30\"") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise ValueError(f"unit_price must be between 0 and {MAX_PRICE}")
    if price != price.quantize(CENT):
        raise ValueError("unit_price has at most 2 decimal places")
    return price.quantize(CENT)


Price = Annotated[Decimal, BeforeValidator(_exact_price)]
Sku = text(1, 64)


class ItemIn(StrictModel):
    sku: Sku
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Price


class OrderCreate(StrictModel):
    user_id: int = Field(ge=1, le=MAX_ID)
    items: list[ItemIn] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _total_fits(self) -> OrderCreate:
        if sum(i.unit_price * i.quantity for i in self.items) > MAX_TOTAL:
            raise ValueError(f"the order total exceeds {MAX_TOTAL}")
        return self


class ItemOut(BaseModel):
    sku: str
    quantity: int
    unit_price: str
    line_total: str


class OrderOut(BaseModel):
    id: int
    user_id: int
    status: str
    items: list[ItemOut]
    total: str
    version: int
    created_at: datetime
    updated_at: datetime


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_after: int | None

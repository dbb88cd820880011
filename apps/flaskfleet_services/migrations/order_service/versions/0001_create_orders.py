"""Create the orders and order_items tables.

Revision ID: 0001_create_orders
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_create_orders"
down_revision = None
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", BIGINT, sa.Identity(always=False), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Numeric(14, 2).with_variant(sa.String(16), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('created', 'cancelled')", name="ck_orders_status"),
        sa.CheckConstraint("total >= 0", name="ck_orders_total"),
    )
    op.create_index("ix_orders_user_id_id", "orders", ["user_id", "id"])
    op.create_table(
        "order_items",
        sa.Column("id", BIGINT, sa.Identity(always=False), primary_key=True),
        sa.Column("order_id", sa.BigInteger(),
                  sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2).with_variant(sa.String(16), "sqlite"),
                  nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_order_items_quantity"),
        sa.CheckConstraint("unit_price >= 0", name="ck_order_items_unit_price"),
        sa.UniqueConstraint("order_id", "position", name="uq_order_items_position"),
    )


def downgrade() -> None:
    op.drop_table("order_items")
    op.drop_index("ix_orders_user_id_id", "orders")
    op.drop_table("orders")

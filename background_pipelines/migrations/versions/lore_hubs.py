"""hub organisation: hub_organisations (a hub's group layer, its status and audit trail)

Revision ID: lore_hubs
Revises: lore_analysis
"""
from alembic import op
import sqlalchemy as sa


revision = "lore_hubs"
down_revision = "lore_analysis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_organisations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hub_id", sa.Integer(), nullable=False),
        sa.Column("hub_name", sa.String(length=255), nullable=False),
        sa.Column("degree", sa.Integer(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("audit", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hub_organisations", schema=None) as batch_op:
        batch_op.create_index("ix_hub_organisations_hub", ["hub_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_organisations", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_organisations_hub")
    op.drop_table("hub_organisations")

"""knowledge epochs: one row per (character, local day) of what the character came to know that day

Revision ID: lore_epochs
Revises: lore_experiments
"""
from alembic import op
import sqlalchemy as sa


revision = "lore_epochs"
down_revision = "lore_experiments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_epochs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("character", sa.String(length=255), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("new_facts", sa.JSON(), nullable=False),
        sa.Column("ended_facts", sa.JSON(), nullable=False),
        sa.Column("new_entities", sa.JSON(), nullable=False),
        sa.Column("relations_added", sa.JSON(), nullable=False),
        sa.Column("relations_ended", sa.JSON(), nullable=False),
        sa.Column("merges", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("source_fact_ids", sa.JSON(), nullable=False),
        sa.Column("material_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character", "day", name="uq_knowledge_epochs_character_day"),
    )
    with op.batch_alter_table("knowledge_epochs", schema=None) as batch_op:
        batch_op.create_index("ix_knowledge_epochs_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("knowledge_epochs", schema=None) as batch_op:
        batch_op.drop_index("ix_knowledge_epochs_day")
    op.drop_table("knowledge_epochs")

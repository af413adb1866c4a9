"""scheduled prompts and outbound actions: scheduled_prompts (once or cron, in the user's timezone),
prompt_fires (the unique claim of each fired occurrence) and outbound_actions (the ledger of actions
posted to the bot's signed webhook)

Revision ID: actions_prompts
Revises: memlat_messages_tsv
"""
from alembic import op
import sqlalchemy as sa


revision = "actions_prompts"
down_revision = "memlat_messages_tsv"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_prompts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("character", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("cron", sa.String(length=120), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_scheduled_prompts_due", "scheduled_prompts", ["status", "next_at"])
    op.create_index("ix_scheduled_prompts_user", "scheduled_prompts", ["user_name"])
    op.create_table(
        "prompt_fires",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_at", sa.DateTime(), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prompt_id", "occurrence_at", name="uq_prompt_fires_occurrence"),
    )
    op.create_table(
        "outbound_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("character", sa.String(length=255), nullable=True),
        sa.Column("user_name", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    op.create_index("ix_outbound_actions_due", "outbound_actions", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbound_actions_due", table_name="outbound_actions")
    op.drop_table("outbound_actions")
    op.drop_table("prompt_fires")
    op.drop_index("ix_scheduled_prompts_user", table_name="scheduled_prompts")
    op.drop_index("ix_scheduled_prompts_due", table_name="scheduled_prompts")
    op.drop_table("scheduled_prompts")

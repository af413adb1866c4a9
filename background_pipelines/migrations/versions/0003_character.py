"""character cognition: diaries, dreams, goal_strategies, reflections, insights, drift_observations,
gossip, channel_summaries; each row carries the ids of the messages it rests on (for forgetting).

Revision ID: 0003_character
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_character"
down_revision = "0001"
branch_labels = None
depends_on = None


def _audit() -> list:
    """The columns every character table ends with: provenance, backend, version, run and time."""
    return [
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "diaries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("character", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mood", sa.String(32), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        sa.Column("source_summary_ids", sa.JSON(), nullable=False),
        sa.Column("source_fact_ids", sa.JSON(), nullable=False),
        sa.Column("material_hash", sa.String(64), nullable=False),
        *_audit(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character", "day", name="uq_diaries_character_day"),
    )
    op.create_index("ix_diaries_day", "diaries", ["day"])

    op.create_table(
        "dreams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("character", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tone", sa.String(32), nullable=False),
        sa.Column("motifs", sa.JSON(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        sa.Column("source_summary_ids", sa.JSON(), nullable=False),
        sa.Column("source_fact_ids", sa.JSON(), nullable=False),
        sa.Column("material_hash", sa.String(64), nullable=False),
        *_audit(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character", "day", name="uq_dreams_character_day"),
    )
    op.create_index("ix_dreams_day", "dreams", ["day"])

    op.create_table(
        "goal_strategies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("character", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("strategies", sa.JSON(), nullable=False),
        sa.Column("follow_ups", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        sa.Column("material_hash", sa.String(64), nullable=False),
        *_audit(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character", "day", name="uq_goal_strategies_character_day"),
    )
    op.create_index("ix_goal_strategies_day", "goal_strategies", ["day"])

    op.create_table(
        "reflections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("through_summary_id", sa.Integer(), nullable=False),
        sa.Column("summary_ids", sa.JSON(), nullable=False),
        sa.Column("recurring_topics", sa.JSON(), nullable=False),
        sa.Column("mood_trend", sa.String(16), nullable=False),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        sa.Column("source_fact_ids", sa.JSON(), nullable=False),
        *_audit(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_name", "through_summary_id", name="uq_reflections_user_through"),
    )
    op.create_index("ix_reflections_day", "reflections", ["day"])

    op.create_table(
        "insights",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("character", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("epiphanies", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        sa.Column("material_hash", sa.String(64), nullable=False),
        *_audit(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character", "day", name="uq_insights_character_day"),
    )
    op.create_index("ix_insights_day", "insights", ["day"])

    op.create_table(
        "drift_observations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("character", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("embedding_model", sa.String(255), nullable=False),
        sa.Column("embedding_distance", sa.Float(), nullable=False),
        sa.Column("baseline_embedding_distance", sa.Float(), nullable=True),
        sa.Column("centroid_shift", sa.Float(), nullable=True),
        sa.Column("style", sa.JSON(), nullable=False),
        sa.Column("baseline_style", sa.JSON(), nullable=True),
        sa.Column("baseline_reply_count", sa.Integer(), nullable=False),
        sa.Column("drift_score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        sa.Column("material_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character", "day", name="uq_drift_observations_character_day"),
    )
    op.create_index("ix_drift_observations_day", "drift_observations", ["day"])

    op.create_table(
        "gossip",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("from_character", sa.String(255), nullable=False),
        sa.Column("to_character", sa.String(255), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("source_message_id", sa.Integer(), nullable=False),
        sa.Column("significance", sa.Integer(), nullable=False),
        sa.Column("session", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        *_audit(),
        sa.ForeignKeyConstraint(["source_message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("to_character", "source_message_id", name="uq_gossip_to_source"),
    )
    op.create_index("ix_gossip_to_user", "gossip", ["to_character", "user_name"])
    op.create_index("ix_gossip_day", "gossip", ["day"])

    op.create_table(
        "channel_summaries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        *_audit(),
        sa.ForeignKeyConstraint(["previous_id"], ["channel_summaries.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "window_end", name="uq_channel_summaries_channel_end"),
    )
    op.create_index("ix_channel_summaries_day", "channel_summaries", ["day"])


def downgrade() -> None:
    for table in (
        "channel_summaries", "gossip", "drift_observations", "insights", "reflections",
        "goal_strategies", "dreams", "diaries",
    ):
        op.drop_index(f"ix_{table}_day", table_name=table)
        if table == "gossip":
            op.drop_index("ix_gossip_to_user", table_name=table)
        op.drop_table(table)

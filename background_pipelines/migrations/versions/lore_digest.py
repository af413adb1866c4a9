"""lore digest: lore_documents (character background documents, chunked, with a digest cursor) and
lore_fact_sources (each lore fact's document, revision, chunk and character offsets)

Revision ID: lore_digest
Revises: identity_users
"""
from alembic import op
import sqlalchemy as sa


revision = "lore_digest"
down_revision = "identity_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lore_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("character", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("chunk_chars", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.JSON(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("digested_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character", "name", name="uq_lore_documents_character_name"),
    )
    op.create_table(
        "lore_fact_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("fact_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["lore_documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "fact_id", "start", name="uq_lore_fact_sources"),
    )
    with op.batch_alter_table("lore_fact_sources", schema=None) as batch_op:
        batch_op.create_index("ix_lore_fact_sources_fact", ["fact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lore_fact_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_lore_fact_sources_fact")
    op.drop_table("lore_fact_sources")
    op.drop_table("lore_documents")

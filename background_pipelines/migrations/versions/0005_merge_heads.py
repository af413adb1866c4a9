"""merge the recall, character-cognition and graph-upkeep branches into one head

Revision ID: 0005_merge_heads
Revises: 0002_recall, 0003_character, 0004_graph_upkeep
Create Date: 2026-11-22
"""

revision = "0005_merge_heads"
down_revision = ("0002_recall", "0003_character", "0004_graph_upkeep")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

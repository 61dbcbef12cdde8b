"""stored operations: documents from persisted-query manifests, keyed by their SHA-256

One table for every organization: a manifest describes a client build that all of them
run, and a document is a selection, never data (what it returns is scoped when it runs).
The server's role may only read it, so a compromised server process cannot extend the
allow-list; ``bizgraph operations push`` writes it as the database owner. A CHECK proves
every key is the SHA-256 of its document's UTF-8 text.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = "bizgraph_app"


def upgrade() -> None:
    op.create_table(
        "stored_operations",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("operation_name", sa.Text(), nullable=True),
        sa.Column("operation_type", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "sha256 = encode(sha256(convert_to(document, 'UTF8')), 'hex')",
            name=op.f("ck_stored_operations_key_is_document_hash"),
        ),
        sa.CheckConstraint(
            "operation_type IN ('query', 'mutation', 'subscription')",
            name=op.f("ck_stored_operations_operation_type"),
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_stored_operations")),
    )
    op.execute(f"GRANT SELECT ON stored_operations TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON stored_operations FROM {APP_ROLE}")
    op.drop_table("stored_operations")

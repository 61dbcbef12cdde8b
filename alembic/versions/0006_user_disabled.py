"""disabled users: users.disabled_at, and the lookup that checks a token's user

A user with ``disabled_at`` set can no longer sign in (the login lookup skips
it), and tokens already issued to it are refused within the server's user
cache (``BIZGRAPH_TOKEN_USER_CACHE_SECONDS``). ``bizgraph_token_user`` reads a
user by id for that check; like the other lookups of 0003 it runs before the
request's organization is known, so it is a SECURITY DEFINER function that
returns only what the check needs.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APP_ROLE = "bizgraph_app"

LOGIN_CANDIDATES = """
CREATE OR REPLACE FUNCTION bizgraph_login_candidates(login_email text)
RETURNS TABLE (user_id bigint, org_id bigint, org_slug text, password_hash text, roles text[],
               employee_id bigint, customer_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT u.id, u.org_id, o.slug, u.password_hash, u.roles, u.employee_id, u.customer_id
    FROM users u JOIN organizations o ON o.id = u.org_id
    WHERE lower(u.email) = lower(login_email){enabled_only}
    ORDER BY u.id
$$
"""

TOKEN_USER = """
CREATE FUNCTION bizgraph_token_user(wanted_user_id bigint)
RETURNS TABLE (org_id bigint, roles text[], enabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT u.org_id, u.roles, u.disabled_at IS NULL FROM users u WHERE u.id = wanted_user_id $$
"""


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(LOGIN_CANDIDATES.format(enabled_only=" AND u.disabled_at IS NULL"))
    op.execute(TOKEN_USER)
    op.execute("REVOKE ALL ON FUNCTION bizgraph_token_user(bigint) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION bizgraph_token_user(bigint) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION bizgraph_token_user(bigint)")
    op.execute(LOGIN_CANDIDATES.format(enabled_only=""))
    op.drop_column("users", "disabled_at")

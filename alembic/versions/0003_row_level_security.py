"""row level security: tenant isolation enforced by PostgreSQL itself

The application's connections assume the role ``bizgraph_app``, which is neither
a superuser nor allowed to bypass row-level security, and every organization-owned
table only shows (and only accepts) rows of the organization named by the
per-transaction setting ``bizgraph.org_id``. A query the planner got wrong still
cannot cross organizations; with the setting unset, nothing is visible at all.

Four SECURITY DEFINER functions are the only ways across organizations, and each
answers one narrow question asked before an organization is known: the token
endpoint's (a login's candidates by email, a service client by its id, an
organization by its slug) and the server start-up's (which organizations exist,
by id and slug). Their ``search_path`` names ``pg_temp`` last: left out, it
would be searched first, and a caller's temporary table could stand in for a
real one.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP_ROLE = "bizgraph_app"

ORG_OWNED_TABLES = (
    "users",
    "oauth_clients",
    "departments",
    "employees",
    "employment_events",
    "customers",
    "products",
    "orders",
    "order_lines",
    "invoices",
    "invoice_lines",
    "payments",
    "audit_log",
    "outbox",
)

CURRENT_ORG = """
CREATE FUNCTION bizgraph_current_org() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('bizgraph.org_id', true), '')::bigint $$
"""

LOGIN_CANDIDATES = """
CREATE FUNCTION bizgraph_login_candidates(login_email text)
RETURNS TABLE (user_id bigint, org_id bigint, org_slug text, password_hash text, roles text[],
               employee_id bigint, customer_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT u.id, u.org_id, o.slug, u.password_hash, u.roles, u.employee_id, u.customer_id
    FROM users u JOIN organizations o ON o.id = u.org_id
    WHERE lower(u.email) = lower(login_email)
    ORDER BY u.id
$$
"""

OAUTH_CLIENT = """
CREATE FUNCTION bizgraph_oauth_client(wanted_client_id text)
RETURNS TABLE (id bigint, org_id bigint, org_slug text, client_id text, secret_hash text, name text, scopes text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT c.id, c.org_id, o.slug, c.client_id, c.secret_hash, c.name, c.scopes
    FROM oauth_clients c JOIN organizations o ON o.id = c.org_id
    WHERE c.client_id = wanted_client_id
$$
"""

ORGANIZATION_BY_SLUG = """
CREATE FUNCTION bizgraph_organization(wanted_slug text)
RETURNS TABLE (id bigint, slug text, name text, currency text, time_zone text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT o.id, o.slug, o.name, o.currency, o.time_zone FROM organizations o WHERE o.slug = wanted_slug
$$
"""

ORGANIZATION_LIST = """
CREATE FUNCTION bizgraph_organizations()
RETURNS TABLE (id bigint, slug text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT o.id, o.slug FROM organizations o ORDER BY o.id $$
"""

DEFINER_FUNCTIONS = (
    "bizgraph_login_candidates(text)",
    "bizgraph_oauth_client(text)",
    "bizgraph_organization(text)",
    "bizgraph_organizations()",
)


def upgrade() -> None:
    # Roles belong to the whole cluster, so several databases share this one.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
        END $$
        """
    )
    # The migrating user may switch its sessions to the application role.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
                EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
            END IF;
        END $$
        """
    )
    op.execute(CURRENT_ORG)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT EXECUTE ON FUNCTION bizgraph_current_org() TO {APP_ROLE}")
    op.execute(LOGIN_CANDIDATES)
    op.execute(OAUTH_CLIENT)
    op.execute(ORGANIZATION_BY_SLUG)
    op.execute(ORGANIZATION_LIST)
    for signature in DEFINER_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")

    op.execute("ALTER TABLE organizations ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE organizations FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY tenant_isolation ON organizations USING (id = bizgraph_current_org())")
    op.execute(f"GRANT SELECT ON organizations TO {APP_ROLE}")
    for table in ORG_OWNED_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            " USING (org_id = bizgraph_current_org()) WITH CHECK (org_id = bizgraph_current_org())"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    for table in reversed(ORG_OWNED_TABLES):
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"REVOKE ALL ON organizations FROM {APP_ROLE}")
    op.execute("DROP POLICY tenant_isolation ON organizations")
    op.execute("ALTER TABLE organizations NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE organizations DISABLE ROW LEVEL SECURITY")
    for signature in DEFINER_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("DROP FUNCTION bizgraph_current_org()")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    # The role stays: it belongs to the cluster, and other databases may use it.

"""Given a newcomer who starts the demo and then reaches for the CLI, the README and the API,
then nothing trips them: every database command finds the demo's embedded database, tokens name
the port the demo listens on, a missing database is one line, the README's order example runs,
root keeps its data in its own home, and refusals read as English."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from joserfc import jwt

from app.cli import main
from app.config import Settings
from app.demo import prepare_demo
from app.demo_env import demo_env_path, read_demo_env
from app.workflows import MACHINES
from resolvers.writes.wording import indefinite, noun
from tests.support.graphql import data, gql, running_app
from tests.support.workflow import gid, token

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment of a newcomer's second terminal: no DATABASE_URL, no issuer, no keys;
    the data directory the demo used."""
    for name in ("DATABASE_URL", "BIZGRAPH_ISSUER", "BIZGRAPH_SIGNING_KEYS", "BIZGRAPH_LISTEN_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("BIZGRAPH_DATA_DIR", str(data_dir))
    return data_dir


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert "Traceback" not in err
    return line


# --- the CLI beside a running demo ---------------------------------------------------------


@pytest.mark.timeout(300)
def test_every_database_command_works_while_the_embedded_demo_runs(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, embedded = prepare_demo(Settings.from_env(), port=8765)
    assert embedded is not None, "no DATABASE_URL: the demo must embed its server"
    try:
        recorded = read_demo_env(cli_env)
        assert recorded["BIZGRAPH_ISSUER"] == "http://127.0.0.1:8765"
        assert "host=" in recorded["DATABASE_URL"] and "bizgraph_demo" in recorded["DATABASE_URL"]
        assert stat.S_IMODE(demo_env_path(cli_env).stat().st_mode) == 0o600
        # As root the embedded server's parents are opened for traversal, never for listing.
        assert not stat.S_IMODE(tmp_path.stat().st_mode) & stat.S_IROTH
        capsys.readouterr()

        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
            {"id": "a" * 64, "name": "Names", "type": "query", "body": "query Names { me { email } }"}
        ]}))  # fmt: skip
        commands = [
            ["migrate"],
            ["operations", "list"],
            ["create-user", "--org", "acme", "--email", "newcomer@acme.example", "--password", "pw-newcomer-1",
             "--role", "analyst"],
            ["disable-user", "--org", "acme", "--email", "newcomer@acme.example"],
            ["create-client", "--org", "acme", "--name", "newcomer", "--scope", "analyst"],
            ["issue-token", "--org", "acme", "--email", "admin@acme.example"],
            ["sweep-overdue", "--org", "acme"],
            ["simulate", "--actions", "3", "--rate", "50", "--every", "60"],
            ["brand", "--org", "acme"],
            ["worker", "--once"],
            ["demo-env"],
            ["backup", str(tmp_path / "demo.dump")],
            ["seed", "--scale", "tiny", "--reset"],
        ]  # fmt: skip
        for command in commands:
            code = main(command)
            _, err = capsys.readouterr()
            assert code == 0, (command, err)
            assert "DATABASE_URL is not set" not in err
        token = main(["issue-token", "--org", "acme", "--email", "admin@acme.example"])
        assert token == 0
        claims = jwt.decode(capsys.readouterr().out.strip(), _demo_public_key(cli_env)).claims
        assert claims["iss"] == "http://127.0.0.1:8765"
    finally:
        embedded.stop()

    # Stopped: the same commands say where they looked and what to do, in one line.
    assert main(["operations", "list"]) == 2
    line = _one_line(capsys)
    assert "the demo's embedded database" in line and "bizgraph serve --demo" in line, line
    assert settings.database_url is not None


def _demo_public_key(data_dir: Path):
    from joserfc.jwk import ECKey

    return ECKey.import_key((data_dir / "keys" / "demo-signing-key.pem").read_bytes())


def test_without_a_demo_the_missing_database_says_where_it_was_looked_for(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 2
    line = _one_line(capsys)
    assert line.startswith("bizgraph: DATABASE_URL is not set") and str(demo_env_path(cli_env)) in line


async def test_issue_token_signs_for_the_port_the_demo_listens_on(
    demo_settings: Settings, cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_settings.database_url is not None
    monkeypatch.setenv("DATABASE_URL", demo_settings.database_url.render_as_string(hide_password=False))
    settings, _ = prepare_demo(replace(demo_settings, signing_keys=(), data_dir=cli_env), host="0.0.0.0", port=9124)
    assert settings.issuer == "http://127.0.0.1:9124"
    # An external database is the user's own to name: only the issuer is recorded.
    assert read_demo_env(cli_env) == {"BIZGRAPH_ISSUER": "http://127.0.0.1:9124"}
    capsys.readouterr()

    assert main(["issue-token", "--org", "acme", "--email", "analyst@acme.example"]) == 0
    issued = capsys.readouterr().out.strip()
    async with running_app(settings) as (_, client):
        body = await gql(client, "{ me { email roles } }", token=issued)
    assert body["data"]["me"] == {"email": "analyst@acme.example", "roles": ["ANALYST"]}, body

    # A variable that is set wins over the record.
    monkeypatch.setenv("BIZGRAPH_ISSUER", "https://api.example.com")
    assert main(["issue-token", "--org", "acme", "--email", "analyst@acme.example"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), _demo_public_key(cli_env)).claims
    assert claims["iss"] == "https://api.example.com"


# --- a database that does not exist ----------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["serve", "--demo", "--port", "8797"], ["serve", "--port", "8798"], ["migrate"], ["operations", "list"]],
)
def test_a_database_that_does_not_exist_is_one_line_naming_it(
    command: list[str],
    demo_settings: Settings,
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert demo_settings.database_url is not None
    missing = demo_settings.database_url.set(database="bizgraph_no_such_database")
    monkeypatch.setenv("DATABASE_URL", missing.render_as_string(hide_password=False))
    # A server configured in full but for its database (the demo makes a key of its own).
    monkeypatch.setenv("BIZGRAPH_SIGNING_KEYS", str(demo_settings.signing_keys[0]))
    assert main(command) == 2
    line = _one_line(capsys)
    place = f"{missing.host}:{missing.port or 5432}" if missing.host else "socket"
    assert 'the database "bizgraph_no_such_database" does not exist on' in line and place in line, line
    assert "createdb bizgraph_no_such_database" in line and "psycopg" not in line, line


# --- the README's order example ----------------------------------------------------------


def _readme_operation(name: str) -> str:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", readme, re.S)
    [block] = [b for b in blocks if re.match(rf"\s*(query|mutation) {name}\b", b)]
    return block


async def test_the_readme_order_example_runs_on_the_demo_data(writes_client, writes_settings) -> None:
    sales = token(writes_settings, "sales")
    start = await data(writes_client, _readme_operation("ToOrder"), token=sales)
    customer = start["customers"]["edges"][0]["node"]["id"]
    product = start["products"]["edges"][0]["node"]["id"]
    drafted = (
        await data(writes_client, _readme_operation("Draft"), {"customer": customer, "product": product}, token=sales)
    )["createOrder"]
    assert drafted["errors"] == [] and drafted["order"]["status"] == "DRAFT", drafted
    order = drafted["order"]
    placed = (
        await data(
            writes_client, _readme_operation("Place"), {"id": order["id"], "version": order["version"]}, token=sales
        )
    )["placeOrder"]
    assert placed["errors"] == [], placed
    assert placed["order"]["status"] in {"PLACED", "APPROVED"}


# --- the data directory ----------------------------------------------------------------------


def test_root_keeps_its_data_per_user_not_machine_wide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings.from_env({}).data_dir == tmp_path / "xdg" / "bizgraph"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Settings.from_env({}).data_dir == tmp_path / "home" / ".local" / "share" / "bizgraph"
    assert Settings.from_env({"BIZGRAPH_DATA_DIR": "/var/lib/bizgraph"}).data_dir == Path("/var/lib/bizgraph")


# --- refusals in English ------------------------------------------------------------------


def test_every_lifecycle_entity_takes_its_article() -> None:
    expected = {"Order": "an order", "Invoice": "an invoice", "Customer": "a customer", "Employee": "an employee"}
    assert {entity: indefinite(entity) for entity in MACHINES} == expected
    assert noun("OrderLine") == "order line" and indefinite("User") == "a user" and indefinite("Hour") == "an hour"


@pytest.mark.parametrize(
    ("mutation", "entity", "role", "message"),
    [
        ("approveOrder", "Order", "analyst", "your roles may not approve an order"),
        ("fulfilOrder", "Order", "finance", "your roles may not fulfil an order"),
        ("voidInvoice", "Invoice", "sales", "your roles may not void an invoice"),
        ("activateCustomer", "Customer", "hr", "your roles may not activate a customer"),
        ("activateEmployee", "Employee", "finance", "your roles may not activate employees"),
    ],
)
async def test_a_refusal_reads_as_english(writes_client, writes_settings, mutation, entity, role, message) -> None:
    document = f"mutation($id: ID!) {{ {mutation}(input: {{ id: $id }}) {{ errors {{ code message }} }} }}"
    result = await data(writes_client, document, {"id": gid(entity, 1)}, token=token(writes_settings, role))
    assert result[mutation]["errors"] == [{"code": "FORBIDDEN", "message": message}]

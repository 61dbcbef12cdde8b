"""Given a seeded database, when an operator runs ``bizgraph create-user``, ``create-client`` or
``issue-token``, then the accounts work against the API; bad input is one ``bizgraph:`` line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.auth import demo_user
from tests.support.db import conninfo

ROOT = Path(__file__).resolve().parents[2]
QUERY = {"query": "{ customers(first: 1) { totalCount } }"}


@pytest.fixture(scope="module")
def run(accounts_settings, signing_key, tmp_path_factory):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": conninfo(accounts_settings.database_url),
        "BIZGRAPH_SIGNING_KEYS": str(signing_key),
        # Not the user's own data directory: a demo running on this machine must not lend
        # the commands its issuer (app/demo_env.py).
        "XDG_DATA_HOME": str(tmp_path_factory.mktemp("data-home")),
    }

    def bizgraph(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return bizgraph


@pytest.fixture
def run_here(accounts_settings, signing_key, monkeypatch, capsys):
    """The same command in this process (much faster than a new interpreter): (exit code, stderr)."""
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", conninfo(accounts_settings.database_url))
    monkeypatch.setenv("BIZGRAPH_SIGNING_KEYS", str(signing_key))

    def bizgraph(*args: str) -> subprocess.CompletedProcess:
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return bizgraph


def _one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result
    assert result.stderr.startswith("bizgraph: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and all(word in result.stderr for word in words), result.stderr


async def test_create_user_then_sign_in_with_the_password(run, accounts_client, accounts_settings):
    sales = demo_user(accounts_settings.database_url, "sales@acme.example").employee_id
    result = run(
        "create-user",
        "--org",
        "acme",
        "--email",
        "rep@acme.example",
        "--password",
        "rep-password-1",
        "--role",
        "sales",
        "--role",
        "analyst",
        "--employee",
        str(sales),
    )
    assert result.returncode == 0, result.stderr
    assert "rep@acme.example" in result.stdout
    response = await accounts_client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": "bizgraph-dev",
            "username": "rep@acme.example",
            "password": "rep-password-1",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "analyst sales"


def test_create_user_reads_the_password_from_stdin(run):
    result = run(
        "create-user",
        "--org",
        "globex",
        "--email",
        "quiet@globex.example",
        "--password",
        "-",
        "--role",
        "finance",
        stdin="from-stdin-pw\n",
    )
    assert result.returncode == 0, result.stderr


async def test_create_client_prints_a_secret_that_works_once_shown(run, accounts_client):
    result = run("create-client", "--org", "globex", "--name", "warehouse", "--scope", "analyst")
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(":", 1) for line in result.stdout.strip().splitlines())
    client_id, secret = fields["client_id"].strip(), fields["client_secret"].strip()
    response = await accounts_client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    answer = await accounts_client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


async def test_issue_token_prints_a_token_the_api_accepts(run, accounts_client):
    result = run("issue-token", "--org", "acme", "--email", "customer@acme.example")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.count(".") == 2
    answer = await accounts_client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "args, words",
    [
        (
            [
                "create-user",
                "--org",
                "initech",
                "--email",
                "a@b.example",
                "--password",
                "long-enough",
                "--role",
                "admin",
            ],
            ["initech"],
        ),
        (
            [
                "create-user",
                "--org",
                "acme",
                "--email",
                "a@b.example",
                "--password",
                "long-enough",
                "--role",
                "overlord",
            ],
            ["overlord"],
        ),
        (
            ["create-user", "--org", "acme", "--email", "a@b.example", "--password", "short", "--role", "admin"],
            ["at least"],
        ),
        (
            ["create-user", "--org", "acme", "--email", "a@b.example", "--password", "long-enough", "--role", "sales"],
            ["--employee"],
        ),
        (
            [
                "create-user",
                "--org",
                "acme",
                "--email",
                "a@b.example",
                "--password",
                "long-enough",
                "--role",
                "customer",
            ],
            ["--customer"],
        ),
        (
            [
                "create-user",
                "--org",
                "acme",
                "--email",
                "admin@acme.example",
                "--password",
                "long-enough",
                "--role",
                "admin",
            ],
            ["already"],
        ),
        (
            [
                "create-user",
                "--org",
                "acme",
                "--email",
                "a@b.example",
                "--password",
                "long-enough",
                "--role",
                "admin",
                "--employee",
                "1",
                "--customer",
                "1",
            ],
            ["not allowed with"],
        ),
        (["create-client", "--org", "acme", "--name", "x", "--scope", "sales"], ["sales"]),
        (["issue-token", "--org", "acme", "--email", "nobody@acme.example"], ["nobody@acme.example"]),
        (["issue-token", "--org", "acme"], ["--email"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_here, args, words):
    _one_line_error(run_here(*args), *words)


def test_a_bad_command_line_is_one_line_from_the_real_command_too(run):
    _one_line_error(
        run(
            "create-user", "--org", "initech", "--email", "a@b.example", "--password", "long-enough", "--role", "admin"
        ),
        "initech",
    )


def test_an_employee_of_another_organization_cannot_be_linked(run_here, accounts_settings):
    globex_employee = demo_user(accounts_settings.database_url, "employee@globex.example").employee_id
    result = run_here(
        "create-user",
        "--org",
        "acme",
        "--email",
        "crossover@acme.example",
        "--password",
        "long-enough",
        "--role",
        "employee",
        "--employee",
        str(globex_employee),
    )
    _one_line_error(result, "no employee")


def test_issue_token_without_any_key_says_what_to_do(run_here, monkeypatch, tmp_path):
    monkeypatch.delenv("BIZGRAPH_SIGNING_KEYS")
    monkeypatch.setenv("BIZGRAPH_DATA_DIR", str(tmp_path))
    _one_line_error(run_here("issue-token", "--org", "acme", "--email", "admin@acme.example"), "BIZGRAPH_SIGNING_KEYS")

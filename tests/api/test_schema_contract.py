"""The exported SDL is current, every type and field is described, and the layering holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from schema import build_schema

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_up_to_date():
    current = build_schema().as_str() + "\n"
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == current, "schema.graphql is stale: run `bizgraph export-schema > schema.graphql`"


def test_every_type_and_field_has_a_description():
    missing = []
    for named in build_schema()._schema.type_map.values():
        if named.name.startswith("__") or named.name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if (
            isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType, GraphQLEnumType))
            and not named.description
        ):
            missing.append(named.name)
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            missing += [f"{named.name}.{name}" for name, field in named.fields.items() if not field.description]
    assert missing == []


def test_export_schema_command_prints_the_sdl():
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "export-schema"], capture_output=True, text=True, check=True, env={"PATH": ""}
    )
    assert out.stdout == (ROOT / "schema.graphql").read_text()


def test_layering_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_of_app_has_a_layer():
    """A new package under app/ must be placed in the layers contract, or nothing checks it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    placed = {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}
    modules = {
        f"app.{path.stem}"
        for path in (ROOT / "app").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert modules - placed == set()


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("app/db.py", "resolvers.reads"),  # core → resolvers
        ("app/auth/policy.py", "app.http.bearer_gate"),  # core → edge
        ("resolvers/reads.py", "schema.context"),  # resolvers → schema
        ("schema/build.py", "app.http.graphql_view"),  # schema → edge
        ("app/http/bearer_gate.py", "app.server"),  # edge → composition root
    ],
)
def test_the_layers_contract_refuses_an_upward_import(tmp_path, module, upward):
    """A copy of the tree with one import that points up the layers breaks the contract."""
    for package in ("app", "schema", "resolvers"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / module).open("a") as source:
        source.write(f"\nimport {upward}  # deliberately upward\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "layers: composition root > edge > schema > resolvers > core BROKEN" in result.stdout
    assert upward in result.stdout

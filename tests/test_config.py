"""Bad or missing configuration fails at start with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.config import Settings
from app.errors import ConfigError


@pytest.mark.parametrize(
    "env, words",
    [
        ({"DATABASE_URL": "mysql://x@y/z"}, "postgresql://"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u@h:5432/"}, "must name a database"),
        ({"BIZGRAPH_MAX_PAGE_SIZE": "lots"}, "BIZGRAPH_MAX_PAGE_SIZE"),
        ({"BIZGRAPH_DEFAULT_PAGE_SIZE": "500"}, "must not exceed"),
        ({"BIZGRAPH_DEMO": "maybe"}, "BIZGRAPH_DEMO"),
    ],
)
def test_bad_settings_raise_config_error_naming_the_variable(env, words):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert words in str(error.value)


def test_valid_settings_use_psycopg():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:p@db:5432/biz", "BIZGRAPH_MAX_PAGE_SIZE": "200"})
    assert settings.database_url.drivername == "postgresql+psycopg" and settings.max_page_size == 200


@pytest.mark.parametrize(
    "args, env",
    [
        (["migrate"], {"DATABASE_URL": "mysql://x@y/z"}),
        (["migrate"], {}),
        (["serve"], {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}),
    ],
)
def test_cli_prints_one_line_and_no_traceback(args, env):
    result = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env={"PATH": "", **env})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("bizgraph: ")
    assert "Traceback" not in result.stderr

"""Settings: every one documented in .env.example, typed parsing, production guard rails."""

from __future__ import annotations

import dataclasses
import re

import pytest

from web.settings import PROJECT_ROOT, Settings, SettingsError, env_name, load_settings


def documented_names() -> set[str]:
    text = (PROJECT_ROOT / ".env.example").read_text()
    return set(re.findall(r"^(ADUAN_[A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_setting_is_documented_in_env_example():
    names = {env_name(f.name) for f in dataclasses.fields(Settings)}
    documented = documented_names()
    assert names - documented == set(), "undocumented settings"
    assert documented - names == set(), ".env.example lists settings the app does not read"


def test_every_setting_has_a_description():
    for f in dataclasses.fields(Settings):
        assert f.metadata.get("doc"), f"{f.name} has no description"


def test_types_are_parsed_and_empty_means_default():
    settings = load_settings(
        {
            "ADUAN_PORT": "9000",
            "ADUAN_S3_SECURE": "false",
            "ADUAN_SECRET_KEY": "",
            "ADUAN_VAR_DIR": "data",
        }
    )
    assert settings.port == 9000
    assert settings.s3_secure is False
    assert settings.secret_key == Settings().secret_key
    assert settings.var_dir == PROJECT_ROOT / "data"


@pytest.mark.parametrize(
    "environ",
    [
        {"ADUAN_PORT": "eighty"},
        {"ADUAN_S3_SECURE": "maybe"},
        {"ADUAN_NIK_PREFIX_POLICY": "sometimes"},
        {"ADUAN_ENV": "production"},  # dev secrets
        {
            "ADUAN_ENV": "production",
            "ADUAN_SECRET_KEY": "a" * 40,
            "ADUAN_NIK_HASH_KEY": "b" * 40,
        },  # dev messenger
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(environ):
    with pytest.raises(SettingsError, match="ADUAN_"):
        load_settings(environ)


def test_database_url_switches_engine():
    assert not load_settings({}).uses_postgres
    assert load_settings(
        {"ADUAN_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    ).uses_postgres

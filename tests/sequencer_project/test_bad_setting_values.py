"""A variable that does not read as its type stops ``manage.py`` with one line naming it, not a
``ValueError`` traceback that names none of the settings (docs/configuration.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(variables: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` run on the settings module itself (not the test run's), with ``variables`` set."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        "SEQUENCER_DOTENV": "",
        "SEQUENCER_ENV": "development",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "x",
        **variables,
    }
    return subprocess.run(  # noqa: S603 - manage.py of this checkout, fixed arguments
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _setting(variables: dict[str, str], expression: str) -> str:
    """``repr`` of ``expression`` (over ``settings``) as the settings read ``variables``."""
    done = _manage(variables, "shell", "-c", f"from django.conf import settings; print(repr({expression}))")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _refusal(variables: dict[str, str]) -> str:
    """The one line ``manage.py`` stops with when the settings refuse ``variables``."""
    done = _manage(variables, "check")
    assert done.returncode == 1, done.stdout
    assert len(done.stderr.splitlines()) == 1, done.stderr
    return done.stderr.strip()


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [("DB_POOL_MIN_SIZE", "abc", "int"), ("ANCHOR_MAX_ATTEMPTS", "1.5", "int"), ("DB_POOL_MAX_SIZE", "", "int")],
)
def test_a_value_of_the_wrong_type_is_one_line_naming_the_variable(variable: str, value: str, kind: str) -> None:
    assert _refusal({variable: value}) == (
        f"manage.py: {variable}={value!r} is not a valid {kind}: invalid literal for int() with base 10: {value!r}"
    )


@pytest.mark.parametrize("value", ["fast", "5s"])
def test_a_float_that_is_not_a_number_is_refused_naming_its_value(value: str) -> None:
    assert _refusal({"READY_TIMEOUT_SECONDS": value}) == (
        f"manage.py: READY_TIMEOUT_SECONDS={value!r} is not a valid float: could not convert string to float: {value!r}"
    )


@pytest.mark.parametrize(("variable", "value"), [("SESSION_COOKIE_SECURE", "enabled"), ("DEBUG", "maybe")])
def test_a_boolean_that_is_not_a_boolean_word_is_refused(variable: str, value: str) -> None:
    assert _refusal({variable: value}) == (
        f"manage.py: {variable}={value!r} is not a valid bool: use true/false, 1/0, yes/no or on/off"
    )


def test_boolean_words_are_read_in_any_case_with_spaces_around() -> None:
    variables = {"SESSION_COOKIE_SECURE": " On ", "CSRF_COOKIE_SECURE": "YES", "DEBUG": "off", "DB_POOL_CHECK": "0"}

    assert _setting(variables, "[settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.DEBUG]") == (
        "[True, True, False]"
    )


def test_list_entries_are_read_without_their_spaces_and_empty_ones_are_dropped() -> None:
    variables = {"ALLOWED_HOSTS": "127.0.0.1, api.example.com ,,", "X402_BATCH_NETWORKS": "set_chain, base"}

    assert _setting(variables, "[settings.ALLOWED_HOSTS, settings.X402_BATCH_NETWORKS]") == (
        "[['127.0.0.1', 'api.example.com'], ['set_chain', 'base']]"
    )


def test_a_secret_file_is_read_without_its_trailing_newline(tmp_path: Path) -> None:
    key_file = tmp_path / "bootstrap"
    key_file.write_text("k" * 40 + "\n")

    variables = {"BOOTSTRAP_ADMIN_API_KEY_FILE": str(key_file), "BOOTSTRAP_ADMIN_API_KEY": ""}

    assert _setting(variables, "settings.BOOTSTRAP_ADMIN_API_KEY") == repr("k" * 40)


@pytest.mark.parametrize(("name", "reason"), [("missing", "No such file or directory"), ("", "Is a directory")])
def test_a_secret_file_that_cannot_be_read_is_refused_naming_the_variable(
    tmp_path: Path, name: str, reason: str
) -> None:
    path = tmp_path / name

    assert _refusal({"SECRET_KEY_FILE": str(path), "SECRET_KEY": ""}) == (
        f"manage.py: SECRET_KEY_FILE={str(path)!r} cannot be read: {reason}."
    )


def test_a_secret_set_both_directly_and_from_a_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "bootstrap"
    key_file.write_text("from-file")

    assert _refusal({"BOOTSTRAP_ADMIN_API_KEY_FILE": str(key_file), "BOOTSTRAP_ADMIN_API_KEY": "direct"}) == (
        "manage.py: BOOTSTRAP_ADMIN_API_KEY and BOOTSTRAP_ADMIN_API_KEY_FILE are both set: set one of them."
    )


@pytest.mark.parametrize("variable", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_an_empty_required_variable_stops_the_start_as_a_missing_one_does(variable: str) -> None:
    assert _refusal({variable: " "}) == f"manage.py: Set the {variable} environment variable (it is missing or empty)."


LONG_KEY = "".join(chr(ord("a") + n % 26) for n in range(64))


@pytest.mark.parametrize("secret_key", ["x", "y" * 64, "django-insecure-" + LONG_KEY])
def test_a_production_secret_key_below_djangos_bar_stops_the_start(secret_key: str) -> None:
    assert _refusal({"SEQUENCER_ENV": "production", "SECRET_KEY": secret_key}) == (
        "manage.py: SECRET_KEY must have at least 50 characters, 5 of them different, and not start with"
        " 'django-insecure-' in production (SEQUENCER_ENV)."
    )


def test_a_production_secret_key_of_djangos_bar_is_read() -> None:
    assert _setting({"SEQUENCER_ENV": "production", "SECRET_KEY": LONG_KEY}, "len(settings.SECRET_KEY)") == "64"


@pytest.mark.parametrize(("environment", "secure"), [("production", "(True, True)"), ("development", "(False, False)")])
def test_the_admins_cookies_are_secure_by_default_in_production(environment: str, secure: str) -> None:
    variables = {"SEQUENCER_ENV": environment, "SECRET_KEY": LONG_KEY}

    assert _setting(variables, "(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)") == secure


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("", "None"),
        ("X-Forwarded-Proto", "('HTTP_X_FORWARDED_PROTO', 'https')"),
        (" x-forwarded-ssl ", "('HTTP_X_FORWARDED_SSL', 'https')"),
    ],
)
def test_the_proxys_https_header_is_read_as_djangos_setting(value: str, read: str) -> None:
    assert _setting({"SECURE_PROXY_SSL_HEADER": value}, "settings.SECURE_PROXY_SSL_HEADER") == read


def test_a_proxy_https_header_that_is_no_header_name_is_refused() -> None:
    assert _refusal({"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"}) == (
        "manage.py: SECURE_PROXY_SSL_HEADER='X-Forwarded-Proto: https' is not an HTTP header name (e.g."
        " X-Forwarded-Proto)."
    )


@pytest.mark.parametrize(
    ("variable", "value", "scheme", "expected"),
    [
        ("DATABASE_URL", "not a url", "", "postgres://, postgresql://"),
        ("DATABASE_URL", "mysql://u:secret@db/app", "mysql", "postgres://, postgresql://"),
        ("DATABASE_READ_URL", "garbage", "", "postgres://, postgresql://"),
        ("REDIS_URL", "http://u:secret@cache:6379/0", "http", "redis://, rediss://, unix://"),
    ],
)
def test_a_url_of_another_scheme_is_refused_naming_the_variable_not_the_url(
    variable: str, value: str, scheme: str, expected: str
) -> None:
    line = _refusal({variable: value})

    assert line == f"manage.py: {variable} must be a URL starting {expected} (its scheme is {scheme!r})."
    assert "secret" not in line


def test_an_empty_celery_broker_url_is_redis_url() -> None:
    assert _setting({"CELERY_BROKER_URL": ""}, "settings.CELERY_BROKER_URL == settings.REDIS_URL") == "True"


def test_the_log_level_is_read_in_any_case() -> None:
    assert _setting({"LOG_LEVEL": "info"}, "settings.LOGGING['root']['level']") == "'INFO'"


def test_an_unknown_log_level_is_refused_naming_log_level() -> None:
    assert _refusal({"LOG_LEVEL": "verbose"}) == (
        "manage.py: LOG_LEVEL='verbose' is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )

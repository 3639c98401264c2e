import json
import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.db import connection

from referral_site.database import SQLITE_REFUSED, UnsupportedDatabase, database_config
from tests.processes import ROOT, worker_environment

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "referral_site.settings.production",
    "SECRET_KEY": "k" * 20 + "-Qz8!vR2#pL6@wN4$tY7%uI1^oP3&aS5*dF9(gH0)jK",
    "ALLOWED_HOSTS": "rewards.example.com",
    "CARD_ENCRYPTION_KEYS": "a-IlyKGixNMN_JdEWlR3UWBHYHkt6iAH56R4ehNMW_Q=",
    "CARD_NUMBER_DIGEST_KEY": "a-real-digest-key",
    "SMS_GATEWAY_URL": "https://sms.example.com/send",
}


def run_manage(*arguments, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def setting_in_child(name: str, **env) -> str:
    code = f"from django.conf import settings; print(repr(settings.{name}))"
    result = run_manage("shell", "--no-imports", "-c", code, env=worker_environment(**env))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.django_db
def test_settings_come_from_the_environment():
    assert setting_in_child("POLL_INTERVAL_MINUTES", POLL_INTERVAL_MINUTES="7") == "7"
    assert setting_in_child("ACCOUNT_OPENING_RATE", ACCOUNT_OPENING_RATE="2.5") == "2.5"
    assert setting_in_child("DEBUG", DEBUG="") == "False"


@pytest.mark.django_db
def test_redis_url_switches_the_broker_and_orm_is_the_default():
    orm = setting_in_child("Q_CLUSTER")
    assert "'orm': 'default'" in orm and "redis" not in orm
    redis = setting_in_child("Q_CLUSTER", REDIS_URL="redis://127.0.0.1:6379/3")
    assert "'redis': 'redis://127.0.0.1:6379/3'" in redis and "'orm'" not in redis


def test_sqlite_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///db.sqlite3")
    with pytest.raises(UnsupportedDatabase) as refused:
        database_config(environ.Env())
    assert str(refused.value) == SQLITE_REFUSED


def test_sqlite_is_refused_at_start_up():
    env = {**os.environ, "DATABASE_URL": "sqlite:///db.sqlite3"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert SQLITE_REFUSED in result.stderr


@pytest.mark.django_db
def test_production_settings_pass_check_deploy():
    env = {**worker_environment(), **PRODUCTION_ENV}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_production_refuses_to_start_without_its_secrets():
    env = {**worker_environment(), **PRODUCTION_ENV}
    del env["CARD_ENCRYPTION_KEYS"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "CARD_ENCRYPTION_KEYS" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production", "development value"),
        (
            "CARD_ENCRYPTION_KEYS",
            "a-IlyKGixNMN_JdEWlR3UWBHYHkt6iAH56R4ehNMW_Q=,Wl6bq2c0qZpyXW3VpbC5p0sSWnGtu1b6Qm3k0oVZkTg=",
            "development value",
        ),
        ("CARD_NUMBER_DIGEST_KEY", "dev-only-card-digest-key", "development value"),
        (
            "CARD_ENCRYPTION_KEYS",
            "a-IlyKGixNMN_JdEWlR3UWBHYHkt6iAH56R4ehNMW_Q=,not-a-fernet-key",
            "key 2 is not a Fernet key",
        ),
    ],
)
def test_production_refuses_the_development_keys_and_keys_that_are_not_keys(name, value, says):
    env = {**worker_environment(), **PRODUCTION_ENV, name: value}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert f"{name}" in result.stderr and says in result.stderr


@pytest.mark.django_db
def test_migrations_are_complete():
    result = run_manage("makemigrations", "--check", "--dry-run", env=worker_environment())
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_postgresql_starts_round_trips_a_model_and_stops(tmp_path: Path):
    # given a data folder with no server, and no DATABASE_URL
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    env["DJANGO_SETTINGS_MODULE"] = "referral_site.settings.test"
    # when the project migrates and writes a row, then reads it in a second process
    assert run_manage("migrate", "--no-input", env=env).returncode == 0
    write = "from cardpool.models import CardKind; CardKind.objects.create(code='RT', name='x', face_value=5)"
    read = "from cardpool.models import CardKind; print(CardKind.objects.get(code='RT').face_value)"
    assert run_manage("shell", "--no-imports", "-c", write, env=env).returncode == 0
    result = run_manage("shell", "--no-imports", "-c", read, env=env)
    # then the row survived the restart, and the server was stopped by the last process
    assert result.stdout.strip() == "5.00", result.stderr
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
    # and a user killed without leaving (its pid still listed) does not keep the server running
    (tmp_path / "pgdata" / ".handle_pids.json").write_text(json.dumps([dead_pid()]))
    assert run_manage("shell", "--no-imports", "-c", read, env=env).returncode == 0
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_importing_the_settings_starts_no_server_and_says_what_is_missing(tmp_path: Path):
    # given no DATABASE_URL, outside the entry points that start the embedded server
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    env["DJANGO_SETTINGS_MODULE"] = "referral_site.settings.test"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then Django refuses to start, naming the variable, and no server was started
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert not (tmp_path / "pgdata").exists()


@pytest.mark.django_db
def test_the_suite_runs_on_a_real_postgresql_server():
    # the server itself says what it is (the engine setting is forced, so it cannot tell)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('server_version_num')::int")
        version, number = cursor.fetchone()
    assert version.startswith("PostgreSQL ") and number >= 150000


def test_the_wsgi_application_defaults_to_production_settings():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-c", "import referral_site.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_the_language_cookie_is_secure_same_site_and_hidden_from_scripts_in_production():
    # Django's own set_language view, under the production settings, over HTTPS
    code = (
        "from django.test import Client\n"
        "answer = Client().post('/i18n/setlang/', {'language': 'en', 'next': '/me/'},"
        " secure=True, HTTP_HOST='rewards.example.com')\n"
        "print(answer.status_code, answer.cookies['django_language'].output())\n"
    )
    env = {**worker_environment(), **PRODUCTION_ENV}
    result = run_manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    status, cookie = result.stdout.strip().split(" ", 1)
    assert status == "302" and "django_language=en" in cookie
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite"} <= attributes, cookie
    assert "SameSite=Lax" in cookie


def test_every_throttle_is_one_table_and_a_bad_override_stops_the_start_up():
    from django.core.exceptions import ImproperlyConfigured

    from core.throttles import DEFAULT_RATE_LIMITS, parse_rate_limits

    assert parse_rate_limits("") == DEFAULT_RATE_LIMITS
    changed = parse_rate_limits(" card_reports_per_customer=3/86400, phone_code_resend=1/30 ")
    assert changed["card_reports_per_customer"] == (3, 86400)
    assert changed["phone_code_resend"] == (1, 30)
    for bad in ("card_reports=3/86400", "phone_code_resend=1", "phone_code_resend=-1/60", "x"):
        with pytest.raises(ImproperlyConfigured, match="RATE_LIMITS"):
            parse_rate_limits(bad)


def test_the_anomaly_thresholds_are_one_table_and_a_bad_override_stops_the_start_up():
    from rewards.anomalies.thresholds import DEFAULT_THRESHOLDS, parse_thresholds

    assert parse_thresholds("") == DEFAULT_THRESHOLDS
    changed = parse_thresholds("grant_spike_factor=4.5, channel_burst_count=6")
    assert (changed["grant_spike_factor"], changed["channel_burst_count"]) == (4.5, 6)
    for bad in ("grant_spike=4", "channel_burst_count=six", "channel_burst_count=2.5", "x", "a=-1"):
        with pytest.raises(ValueError, match="ANOMALY_THRESHOLDS"):
            parse_thresholds(bad)


@pytest.mark.django_db
def test_the_upstream_budget_share_is_a_share_or_the_start_up_stops():
    assert setting_in_child("ACCOUNT_OPENING_BUDGET_SHARE") == "0.9"
    for bad in ("0", "1.5", "-0.2"):
        env = worker_environment(ACCOUNT_OPENING_BUDGET_SHARE=bad)
        result = run_manage("check", env=env)
        assert result.returncode != 0 and "ACCOUNT_OPENING_BUDGET_SHARE" in result.stderr

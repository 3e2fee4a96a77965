from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "DJANGO_SECRET_KEY": "x7!kq2-production-like-secret-with-enough-length-and-entropy-0193847561",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "SITE_URL": "https://portal.example.com",
    "DATABASE_URL": "postgres://tessera@127.0.0.1:5432/tessera",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "rediscache://127.0.0.1:6379/1",
    "CHAIN_RPC_URL": "https://rpc.example.com",
    "CHAIN_ID": "1",
    "CHAIN_SENDER_ADDRESS": "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
    "FIELD_ENCRYPTION_KEYS": "q1uH0m7ePa6yZ5kX1mN3bV7cT9rW2sD4fG6hJ8kL0pA=",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ours = (
        "DJANGO_",
        "DATABASE_URL",
        "CELERY_",
        "CACHE_URL",
        "CHAIN_",
        "FIELD_ENCRYPTION_KEYS",
        "SITE_URL",
        "DEMO_URL",
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**clean, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_production_settings_reports_no_issues() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets() -> None:
    for missing in (
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CHAIN_SENDER_ADDRESS",
        "FIELD_ENCRYPTION_KEYS",
        "SITE_URL",
    ):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = _manage("check", env=env)
        assert result.returncode != 0
        assert missing in result.stderr


def test_production_settings_hold_sender_addresses_and_never_a_signing_key() -> None:
    key = "0x" + "11" * 32  # the worker's key: in the environment, read only when a worker signs
    probe = (
        "from django.conf import settings; "
        f"print(any({key!r}[2:] in repr(getattr(settings, n)).lower() for n in dir(settings))); "
        "print(sorted(set(settings.CHAIN_SENDERS.values())))"
    )
    result = _manage("shell", "-c", probe, env={**PRODUCTION_ENV, "CHAIN_SIGNER_KEY": key})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["False", "['0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A']"]


def _python(code: str, *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ours = (
        "DJANGO_",
        "DATABASE_URL",
        "CELERY_",
        "CACHE_URL",
        "CHAIN_",
        "FIELD_ENCRYPTION_KEYS",
        "SITE_URL",
        "DEMO_URL",
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


SERVER_ENTRY_POINTS = {
    "wsgi": "import portal.wsgi; from django.conf import settings; print('DEBUG', settings.DEBUG)",
    "asgi": "import portal.asgi; from django.conf import settings; print('DEBUG', settings.DEBUG)",
    "celery": "from portal.celery import app; from django.conf import settings; print('DEBUG', settings.DEBUG)",
}


@pytest.mark.parametrize("entry", sorted(SERVER_ENTRY_POINTS))
def test_a_server_started_without_a_settings_module_gets_production_and_refuses_without_secrets(entry: str) -> None:
    result = _python(SERVER_ENTRY_POINTS[entry], env={})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr, result.stderr[-2000:]
    secrets = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SETTINGS_MODULE"}
    started = _python(SERVER_ENTRY_POINTS[entry], env=secrets)
    assert started.returncode == 0, started.stderr[-2000:]
    assert "DEBUG False" in started.stdout


def test_manage_py_keeps_the_local_settings_without_a_settings_module() -> None:
    probe = "from django.conf import settings; print('SETTINGS', settings.SETTINGS_MODULE)"
    result = _manage("shell", "-c", probe, env={})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "SETTINGS portal.settings.local" in result.stdout


def test_production_refuses_a_shallow_confirmation_depth_unless_the_node_finalizes() -> None:
    shallow = _manage("check", env={**PRODUCTION_ENV, "CHAIN_CONFIRMATIONS": "3"})
    assert shallow.returncode != 0
    assert "CHAIN_CONFIRMATIONS=3 is below the production minimum of 12" in shallow.stderr
    finalized = _manage("check", env={**PRODUCTION_ENV, "CHAIN_CONFIRMATIONS": "3", "CHAIN_FINALITY": "finalized"})
    assert finalized.returncode == 0, finalized.stderr
    unknown = _manage("check", env={**PRODUCTION_ENV, "CHAIN_FINALITY": "soon"})
    assert unknown.returncode != 0 and "CHAIN_FINALITY" in unknown.stderr


def test_production_waits_for_twelve_confirmations_by_default() -> None:
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CHAIN_FINALITY, settings.CHAIN_CONFIRMATIONS)",
        env=PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["depth", "12"]


def test_production_settings_refuse_metrics_to_anonymous_users_even_when_configured_open() -> None:
    probe = (
        "import django; django.setup(); from django.conf import settings; from django.test import Client; "
        "r = Client().get('/metrics/', secure=True, HTTP_HOST='portal.example.com'); "
        "print(settings.METRICS_REQUIRE_AUTH, r.status_code, r['WWW-Authenticate'])"
    )
    result = _python(probe, env={**PRODUCTION_ENV, "METRICS_REQUIRE_AUTH": "false", "METRICS_TOKEN": "t0ken"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "401", "Bearer", 'realm="metrics"']


def test_every_vendor_file_that_names_a_source_map_ships_it() -> None:
    # Production's collectstatic (hashed manifest) refuses a file whose sourceMappingURL names a missing file.
    import re
    from pathlib import Path

    root = Path(settings.BASE_DIR)
    copied = dict(re.findall(r'\["([^"]+)", "([^"]+)"\]', (root / "scripts" / "build_static.js").read_text()))
    missing = []
    for source, target in copied.items():
        if not target.endswith((".js", ".css")):
            continue
        text = (root / "node_modules" / source).read_text(errors="replace")
        for named in re.findall(r"sourceMappingURL=([^\s*]+)", text):
            if named not in copied.values():
                missing.append(f"{target} names {named}")
    assert copied and missing == []


def test_production_logs_one_json_object_a_line_with_the_request_id() -> None:
    probe = (
        "import django, logging; django.setup(); from core.middleware import request_id_var; "
        "request_id_var.set('click-9e1'); logging.getLogger('offerings').warning('subscription refused: hard cap')"
    )
    result = _python(probe, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    import json

    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["request_id"] == "click-9e1"
    assert (line["level"], line["logger"]) == ("WARNING", "offerings")
    assert line["message"] == "subscription refused: hard cap"
    assert "time" in line

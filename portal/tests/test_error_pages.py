"""The demo runs with DEBUG off, as production does: a visitor sees the portal's own 404 and 500 pages, never
a traceback or the URL list; static files, the favicon and the API documentation load under the portal's
Content-Security-Policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, override_settings

LOCAL_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False)
out = {"debug": settings.DEBUG}
urls = ["/no-such-page/", "/static/vendor/bootstrap.min.css", "/static/css/tessera.css", "/favicon.ico", "/api/docs/"]
for url in urls:
    response = client.get(url, HTTP_HOST="127.0.0.1")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    out[url] = [response.status_code, response.get("Content-Type", ""), body.decode("utf-8", "replace")]
print(json.dumps(out))
"""


def test_the_demo_settings_serve_the_portal_without_debug(tmp_path) -> None:
    ours = ("DJANGO_", "DATABASE_URL", "CELERY_", "CACHE_URL", "TESSERA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.local", TESSERA_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", LOCAL_PROBE],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["debug"] is False
    status, _, body = out["/no-such-page/"]
    assert status == 404 and "find that page" in body
    assert "URLconf" not in body and "Traceback" not in body
    assert out["/static/vendor/bootstrap.min.css"][:2] == [200, 'text/css; charset="utf-8"']
    assert out["/static/css/tessera.css"][0] == 200
    assert out["/favicon.ico"][:2] == [200, "image/x-icon"]
    status, _, docs = out["/api/docs/"]
    # The API documentation needs no inline style or script: the policy allows neither.
    assert status == 200 and "<style>" not in docs and "<script>" not in docs and "css/api-docs.css" in docs


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="portal.tests.failing_urls", DEBUG=False)
def test_a_page_that_fails_shows_the_portals_apology_and_nothing_of_the_error() -> None:
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body and "Nothing you sent was lost" in body
    assert "secret internal detail" not in body and "Traceback" not in body
    assert '<link rel="icon" href="/favicon.ico">' in body


def test_every_page_names_its_icon() -> None:
    from django.template.loader import render_to_string

    assert 'rel="icon"' in render_to_string("404.html")

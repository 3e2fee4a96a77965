"""Every page the demo's people reach from their home reads cleanly (core.tests.words): no word said twice in a row
and no help line repeated on a page. Each demo login is signed in and follows the portal's own links from its home,
page after page."""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from core.models import User
from core.tests.words import PageText, page_problems
from demo.seed import DEMO_LOGINS

# Links the crawl does not follow: they sign out, download files, or change something when followed.
SKIPPED = re.compile(
    r"/accounts/logout|/download|/document|/export|\.csv|\.pdf|\.xlsx|/media/|/static/|/api/|/admin/|/files?/"
)
MAX_PAGES = 120


def test_the_reading_finds_doubled_words_and_repeated_help_lines() -> None:
    assert page_problems("<p><span>Closed</span> closes on 1 May</p>")
    assert page_problems("<li>Vote — Closed, closes 1 May</li>")
    assert page_problems("<p>Send the the wire</p>")
    assert page_problems('<div class="form-text">Whole units.</div><div class="form-text">Whole units.</div>')
    # Text apart from each other (a heading and a paragraph, two cells) is not a doubled word.
    assert not page_problems("<h1>Offerings</h1><p>Offerings open to you</p><td>Paid</td><td>paid</td>")
    assert not page_problems("<title>Wallets</title><h1>Wallets</h1><script>a a</script>")


@pytest.mark.django_db
def test_every_page_the_demo_people_reach_reads_cleanly(settings, tmp_path) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    call_command("demo_seed")
    found: list[str] = []
    for login in DEMO_LOGINS:
        client = Client()
        client.force_login(User.objects.get(email=login.email))
        queue, seen = ["/dashboard/"], set[str]()
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = client.get(path, follow=True)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            html = response.content.decode()
            found += [f"{login.email} {path}: {p}" for p in page_problems(html)]
            parser = PageText()
            parser.feed(html)
            for href in parser.links:
                target = urldefrag(href)[0]
                parts = urlsplit(target)
                if parts.scheme or parts.netloc or not target.startswith("/") or SKIPPED.search(target):
                    continue
                queue.append(target)
        assert len(seen) > 3, f"{login.email} reached only {sorted(seen)}"
    assert not found, "\n".join(sorted(set(found)))

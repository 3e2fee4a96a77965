"""The test workers of one run share a Redis database for their cache: emptying one's cache keeps the others'."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from core.cache import PrefixedRedisCache

ON_REDIS = settings.CACHES["default"]["BACKEND"] == "core.cache.PrefixedRedisCache"


@pytest.mark.skipif(not ON_REDIS, reason="the cache is not Redis (CACHE_URL); CI runs this on Redis")
def test_clearing_a_prefixed_cache_keeps_the_keys_of_other_prefixes() -> None:
    location = caches["default"]._servers  # type: ignore[attr-defined]
    run = uuid.uuid4().hex
    mine = PrefixedRedisCache(location, {"KEY_PREFIX": f"mine-{run}"})
    theirs = PrefixedRedisCache(location, {"KEY_PREFIX": f"theirs-{run}"})
    wild = PrefixedRedisCache(location, {"KEY_PREFIX": "*"})  # a prefix that is a pattern matches only itself
    plain = RedisCache(location, {"KEY_PREFIX": ""})
    try:
        for n in range(2500):  # more than one batch of deletions
            mine.set(f"figure-{n}", n, 60)
        theirs.set("figure-1", "kept", 60)
        plain.set(f"unprefixed-{run}", "kept", 60)
        wild.set(f"figure-{run}", "wild", 60)

        wild.clear()
        assert mine.get("figure-1") == 1 and theirs.get("figure-1") == "kept"

        mine.clear()
        assert mine.get("figure-1") is None and mine.get("figure-2499") is None
        assert theirs.get("figure-1") == "kept"
        assert plain.get(f"unprefixed-{run}") == "kept"
        mine.clear()  # nothing left to delete
    finally:
        theirs.clear()
        wild.clear()
        plain.delete(f"unprefixed-{run}")

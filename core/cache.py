"""A Redis cache that shares its database with others: it clears only its own keys."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache


class PrefixedRedisCache(RedisCache):
    """Django's Redis cache, except that `clear()` deletes the keys under this cache's KEY_PREFIX instead of
    emptying the whole database (which would take every other prefix's keys with it: another process's
    throttle counts, another test worker's cached figures)."""

    def clear(self) -> None:
        if not self.key_prefix:
            super().clear()
            return
        client = self._cache.get_client(None, write=True)
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{_glob_escape(self.key_prefix)}:*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)

"""Register exporters, one module per export, chosen by `settings.REGISTRY_EXPORTERS`."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from registry.exporters.base import Exporter, ExportError, ExportParams


@cache
def _load(paths: tuple[str, ...]) -> dict[str, Exporter]:
    found: dict[str, Exporter] = {}
    for path in paths:
        exporter = import_string(path)()
        found[exporter.identifier] = exporter
    return found


def exporters() -> dict[str, Exporter]:
    """identifier → exporter, in the order of the setting."""
    return _load(tuple(settings.REGISTRY_EXPORTERS))


def exporter_get(identifier: str) -> Exporter:
    exporter = exporters().get(identifier)
    if exporter is None:
        raise ExportError(f"There is no export called “{identifier}”.", code="unknown_exporter")
    return exporter


__all__ = ["ExportError", "ExportParams", "Exporter", "exporter_get", "exporters"]

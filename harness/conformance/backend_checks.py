"""The checks of a backend itself, before its cells' (see :mod:`harness.conformance`)."""

from __future__ import annotations

from harness.catalogue import STANDARD_CELLS
from harness.conformance.results import Check, CheckFailed, CheckSkipped
from harness.registry import Backend, Registry

GUIDE = "see harness.registry.Backend and docs/plugins.md"


def available(backend: Backend) -> str:
    if not backend.available:
        raise CheckSkipped(f"unavailable: {backend.reason or 'no reason given'}")
    return f"{backend.framework} {backend.version or '(version unknown)'}"


def devices(backend: Backend) -> str:
    listed = backend.list_devices()
    if not isinstance(listed, list) or not listed or not all(
            isinstance(d, str) for d in listed):
        raise CheckFailed(f"list_devices() returned {listed!r}",
                          "return the device names it can run on, best first, e.g. "
                          "['cuda', 'cpu']")
    if "cpu" not in listed:
        raise CheckFailed(f"list_devices() returned {listed!r}, without 'cpu'",
                          "support 'cpu': the kit and probe_cell run there")
    if backend.describe_device is not None:
        names = [backend.describe_device(d) for d in listed]
        if not all(isinstance(n, str) and n for n in names):
            raise CheckFailed(f"describe_device() returned {names!r}",
                              "return a readable name (a GPU model) for every device")
    return ", ".join(listed)


def probe(backend: Backend) -> str:
    if backend.probe_cell is None:
        raise CheckSkipped("no probe_cell, so its cells' gradient and reference checks "
                           "cannot run")
    return "probe_cell provided"


def standard_cells(registry: Registry, backend: Backend) -> str:
    """Every standard cell of :mod:`harness.catalogue` exists in every backend, so a result
    of one framework compares with the others'."""
    have = {c.name for c in registry.cells.values() if c.backend == backend.name}
    missing = [name for name in STANDARD_CELLS if name not in have]
    if missing:
        raise CheckFailed(f"lacks standard cell{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(missing)}",
                          "register a factory for each standard cell (harness.catalogue."
                          "standard_cells); every backend computes the same standard cells")
    return ", ".join(STANDARD_CELLS)


BACKEND_CHECKS = (
    Check("available", available, GUIDE),
    Check("devices", devices, GUIDE),
    Check("probe", probe, GUIDE),
)

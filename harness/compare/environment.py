"""Were the two sides measured on the same machine with the same software?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.records import RunRecord

MACHINE_KEYS = ("machine_id", "cpu_model", "cpu_count", "device_name")
"""``machine_id`` rather than the hostname, which repeats across VMs and CI runners."""
SOFTWARE_KEYS = ("python",)
THREAD_KEYS = ("threads", "independent_threads")
"""Step times with different thread counts measure different things."""
FALLBACK_KEYS = {"independent_threads": "threads"}
"""A record without the first key (an older one, or a backend without independent work)
ran that work on the second's count."""


@dataclass(frozen=True)
class Difference:
    name: str
    baseline: list[str]
    """The values seen on the baseline side."""
    current: list[str]


@dataclass(frozen=True)
class EnvironmentCheck:
    machine: list[Difference]
    software: list[Difference]
    """Python and framework versions (frameworks compared where both sides used them)."""
    commits: tuple[list[str], list[str]]
    """The git commits each side was run from, for the reader; they may differ freely."""
    threads: list[Difference] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.machine or self.software or self.threads)


def check_environment(baseline: Sequence[RunRecord],
                      current: Sequence[RunRecord]) -> EnvironmentCheck:
    machine = _differences(MACHINE_KEYS, baseline, current)
    software = _differences(SOFTWARE_KEYS, baseline, current)
    old, new = _frameworks(baseline), _frameworks(current)
    software += [Difference(name, sorted(old[name]), sorted(new[name]))
                 for name in sorted(old.keys() & new.keys()) if old[name] != new[name]]
    return EnvironmentCheck(machine, software, (_commits(baseline), _commits(current)),
                            _differences(THREAD_KEYS, baseline, current))


def _differences(keys: Sequence[str], baseline: Sequence[RunRecord],
                 current: Sequence[RunRecord]) -> list[Difference]:
    differences = []
    for key in keys:
        old, new = _values(baseline, key), _values(current, key)
        if old != new:
            differences.append(Difference(key, sorted(old), sorted(new)))
    return differences


def _values(records: Sequence[RunRecord], key: str) -> set[str]:
    fallback = FALLBACK_KEYS.get(key, key)
    return {str(r.environment.get(key, r.environment.get(fallback))) for r in records}


def _frameworks(records: Sequence[RunRecord]) -> dict[str, set[str]]:
    """Framework name -> the versions seen."""
    versions: dict[str, set[str]] = {}
    for r in records:
        versions.setdefault(str(r.environment.get("framework")), set()).add(
            str(r.environment.get("framework_version")))
    return versions


def _commits(records: Sequence[RunRecord]) -> list[str]:
    return sorted({str(r.environment["git_commit"])[:10] for r in records
                   if r.environment.get("git_commit")})

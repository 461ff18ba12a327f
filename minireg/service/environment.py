"""The pinned requirements of the running environment, recorded with each registration."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _installed(folder: Path) -> list[tuple[str, str]]:
    """(name, version) of the distributions installed in one ``sys.path`` folder.

    A ``NAME-VERSION.dist-info`` folder name carries both (wheels write them
    normalised), so the metadata file is read only for other forms (egg-info):
    parsing every METADATA file made a ``register`` about 100 ms slower.
    """
    found: list[tuple[str, str]] = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return found
    for entry in entries:
        if entry.endswith(".dist-info"):
            name, sep, version = entry[: -len(".dist-info")].partition("-")
            if name and sep and version and "-" not in version:
                found.append((name, version))
                continue
        elif not entry.endswith(".egg-info"):
            continue
        # Only egg-info needs the metadata reader (importing it costs about 10 ms).
        from importlib.metadata import Distribution

        dist = Distribution.at(folder / entry)
        meta_name = dist.metadata["Name"] if dist.metadata else None
        if meta_name:
            found.append((meta_name, dist.version))
    return found


def environment_requirements() -> bytes:
    """The installed distributions of this environment, ``name==version`` per line, sorted.

    The first of several installs of one name on ``sys.path`` wins, as for imports.
    """
    seen: dict[str, str] = {}
    for entry in sys.path:
        for name, version in _installed(Path(entry or ".")):
            seen.setdefault(name.lower().replace("_", "-"), version)
    return "".join(f"{name}=={version}\n" for name, version in sorted(seen.items())).encode()

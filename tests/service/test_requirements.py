"""The default requirements of `register`: this environment's distributions, pinned."""

from __future__ import annotations

import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest

from minireg.service.environment import environment_requirements


def reference() -> bytes:
    """What importlib.metadata says, reading every METADATA file (the slow, obvious way)."""
    seen: dict[str, str] = {}
    for dist in distributions():
        try:
            metadata = dist.metadata
        except FileNotFoundError:  # importlib_metadata, once imported (by MLflow), raises here
            continue
        name = metadata["Name"] if metadata else None
        if name:
            seen.setdefault(name.lower().replace("_", "-"), dist.version)
    return "".join(f"{n}=={v}\n" for n, v in sorted(seen.items())).encode()


def test_matches_importlib_metadata() -> None:
    got = environment_requirements()
    assert got == reference()
    assert b"typer==" in got and b"filelock==" in got


def test_dist_info_and_egg_info_on_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "Fancy_Pkg-1.2.3.dist-info").mkdir(parents=True)
    (site / "Fancy_Pkg-1.2.3.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Fancy-Pkg\nVersion: 1.2.3\n"
    )
    (site / "old_style.egg-info").mkdir()
    (site / "old_style.egg-info" / "PKG-INFO").write_text(
        "Metadata-Version: 1.0\nName: Old.Style\nVersion: 0.9\n"
    )
    (site / "not-a-dist.txt").write_text("x")
    # A second install of the same name later on the path is shadowed, as for imports.
    later = tmp_path / "later"
    (later / "fancy_pkg-9.9.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing"), str(later)])
    got = environment_requirements().decode().splitlines()
    assert got == ["fancy-pkg==1.2.3", "old.style==0.9"]
    assert environment_requirements() == reference()

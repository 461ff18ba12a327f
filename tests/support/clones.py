"""A registry whose objects live in a remote, committed to git, and fresh clones of it."""

from __future__ import annotations

from pathlib import Path

import minireg
from tests.conftest import git
from tests.support.remotes import Remote


def remote_registry(repo: Path, remote: Remote) -> minireg.Registry:
    """A registry in ``repo`` keeping its objects in ``remote``, committed."""
    reg = minireg.init_registry(repo / "registry").set_remote(remote.url).registry
    assert reg is not None
    publish(repo)
    return reg


def publish(repo: Path) -> None:
    """Commit everything in ``repo`` (the registry's objects/ is git-ignored by then)."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "registry", "--allow-empty")


def fresh_clone(repo: Path, tmp_path: Path) -> Path:
    """A new clone of ``repo`` under ``tmp_path``; its registry folder."""
    target = tmp_path / f"clone-{len(list(tmp_path.glob('clone-*')))}"
    git(tmp_path, "clone", "-q", str(repo), str(target))
    return target / "registry"

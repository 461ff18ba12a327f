"""Registries of many versions for the benchmarks, built through ``register_many``.

``build(repo, count, models)`` makes a git repository at ``repo`` (one commit)
holding ``registry/`` with ``count`` versions spread over ``models`` models, each
version a distinct 200-byte artifact with a metric, a param and a tag, registered
in batches of 10,000 (the artifact files are removed once stored). ``cached``
keeps a built one under ``.bench/fixtures/`` (git-ignored) and hands out copies
of it, so a second run skips the build. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from minireg.service.registry import init_registry

CACHE = Path(__file__).resolve().parent.parent / ".bench" / "fixtures"
CHUNK = 10_000


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` as a fixed identity; its stdout."""
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    out = subprocess.run(
        ["git", *ident, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return out.stdout


def items(folder: Path, start: int, count: int, models: int) -> list[dict[str, Any]]:
    """Items for versions ``start`` … ``start + count - 1``, each a new 200-byte file."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(start, start + count):
        path = folder / f"model-{n}.bin"
        path.write_bytes(n.to_bytes(8, "big") + os.urandom(192))
        out.append(
            {
                "model": f"model_{n % models:02d}",
                "artifact": str(path),
                "metrics": {"auc_roc": 0.8 + (n % 97) / 1000},
                "params": {"seed": n},
                "tags": {"team": "growth"},
                "training_date": "2024-03-01",
                "requirements": b"scikit-learn==1.5.0\njoblib==1.4.2\n",
                "code_dir": folder.parent,  # the repository: real git fields
            }
        )
    return out


def build(repo: Path, count: int, models: int = 20) -> Path:
    """A git repository at ``repo`` whose ``registry/`` holds ``count`` versions; its path."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "train.py").write_text("print('training')\n")
    (repo / ".gitignore").write_text("artifacts/\n")
    git(repo, "add", "train.py", ".gitignore")
    git(repo, "commit", "-qm", "code")
    reg = init_registry(repo / "registry")
    arts = repo / "artifacts"  # inside the repository, git-ignored
    for start in range(0, count, CHUNK):
        reg.register_many(
            items(arts, start, min(CHUNK, count - start), models), actor="bench@example.com"
        )
        shutil.rmtree(arts)
    return repo / "registry"


def cached(dest: Path, count: int, models: int = 20) -> Path:
    """A copy at ``dest`` of the cached repository with ``count`` versions (built once)."""
    source = CACHE / f"repo-{count}-{models}"
    if not (source / "registry" / "events.jsonl").is_file():
        shutil.rmtree(source, ignore_errors=True)
        print(f"  (building a registry of {count:,} versions once, under {source})", flush=True)
        build(source, count, models)
    shutil.copytree(source, dest, symlinks=True)
    return dest / "registry"

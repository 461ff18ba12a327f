"""Artifacts for remote tests: a pickled model file and a folder, registered as two versions."""

from __future__ import annotations

import pickle
from pathlib import Path

import minireg

MODEL = {"weights": [1, 2, 3]}
WEIGHTS = bytes(range(256)) * 100
REQUIREMENTS = b"scikit-learn==1.5\n"


def pickled(path: Path, value: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return path


def bundle(folder: Path) -> Path:
    """A folder artifact: a config and a weights file in a subfolder."""
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"layers": 3}')
    (folder / "sub" / "weights.bin").write_bytes(WEIGHTS)
    return folder


def two_versions(
    reg: minireg.Registry, work: Path
) -> tuple[minireg.VersionRecord, minireg.VersionRecord]:
    """churn v1 (a pickled file, in Production) and net v1 (a folder), both with requirements."""
    churn = reg.register("churn", pickled(work / "model.pkl", MODEL), requirements=REQUIREMENTS)
    reg.promote("churn", churn.version, "Production", archive_existing=True)
    net = reg.register("net", bundle(work / "bundle"), requirements=b"torch==2.4\n")
    return churn, net


def key(remote_url: str, digest: str) -> str:
    """The URL of object ``digest`` on the remote."""
    return f"{remote_url}/sha256/{digest[:2]}/{digest[2:]}"

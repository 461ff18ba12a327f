"""A read after a clone folds the trail without checking the hash chain; a write never builds
on a chain nobody checked.

Reads (``list``, ``show``, ``path``, loading by stage) never report the chain's problems,
so the first read after a clone leaves them out and its cache entry says so. The first
write (and :meth:`Registry.state`, ``hooks run``) checks the chain up to that entry's end
before using it: an edit inside the trail that left the last line in place is refused
exactly as without the cache.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import minireg
from minireg.storage import state_file
from tests.conftest import run_proc, tree_digest


def _registry(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    reg = minireg.init_registry(root)
    art = tmp_path / "m.bin"
    art.write_bytes(b"model\n")
    for n in range(4):
        reg.register("churn", art, metrics={"auc": 0.5 + n / 10}, description=f"v{n + 1}")
    shutil.rmtree(root / ".cache")  # as a clone has it
    return root


def _chain(root: Path) -> list[str] | None:
    entry = state_file.load(root / ".cache", "None")
    assert entry is not None
    return entry.chain


def _edit_second_line(root: Path) -> None:
    """Change version 2's description in place: its hash no longer matches, the last line stays."""
    events = root / "events.jsonl"
    lines = events.read_bytes().split(b"\n")
    body = json.loads(lines[1])
    body["data"]["description"] = "edited by hand"
    lines[1] = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    events.write_bytes(b"\n".join(lines))


def test_a_read_leaves_the_chain_unchecked_and_the_first_write_checks_it(tmp_path: Path) -> None:
    root = _registry(tmp_path)
    res = run_proc("list", "--where", "`metric.auc` > 0.6", "--json", "-r", str(root))
    assert res.returncode == 0, res.stderr
    assert [row["version"] for row in json.loads(res.stdout)] == [3, 4]
    assert _chain(root) is None

    res = run_proc("promote", "churn", "4", "--to", "Staging", "-r", str(root))
    assert res.returncode == 0, res.stderr
    assert _chain(root) == []  # checked once, and the entry says so now
    assert run_proc("verify", "-r", str(root)).returncode == 0


def test_a_write_refuses_an_edit_that_a_read_did_not_check(tmp_path: Path) -> None:
    root = _registry(tmp_path)
    _edit_second_line(root)
    for args in (("list", "--json"), ("show", "churn", "2", "--json"), ("path", "models:/churn/2")):
        res = run_proc(*args, "-r", str(root))
        assert res.returncode == 0, (args, res.stderr)
    assert _chain(root) is None
    before = tree_digest(root)

    res = run_proc("promote", "churn", "4", "--to", "Staging", "-r", str(root))
    assert res.returncode == 6, res.stderr
    assert "does not check out, so nothing was written" in res.stderr
    assert "line 2: content does not match its hash" in res.stderr
    assert tree_digest(root) == before
    assert _chain(root) == ["line 2: content does not match its hash (the event was edited)"]


def test_the_public_state_reports_what_a_read_did_not_check(tmp_path: Path) -> None:
    root = _registry(tmp_path)
    _edit_second_line(root)
    assert run_proc("list", "-r", str(root)).returncode == 0
    assert _chain(root) is None

    anomalies = minireg.open_registry(root).state().anomalies
    assert anomalies == ["line 2: content does not match its hash (the event was edited)"]

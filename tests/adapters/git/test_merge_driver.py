"""Merging registrations made on two branches, in real temporary git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import git, run_cli, run_proc


def _run_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def _cli(*args: str) -> str:
    res = run_cli(*args)
    assert res.exit_code == 0, res.stderr
    return res.stdout


def _model_file(repo: Path, name: str, content: bytes) -> Path:
    path = repo / name
    path.write_bytes(content)
    return path


def _setup_branches(repo: Path, *, driver: bool, exclusive: bool = False) -> dict[str, Any]:
    """A base with churn v1 in Staging; branch a and branch b each register v2 and promote."""
    _cli("init")
    if exclusive:
        toml = repo / "registry" / "minireg.toml"
        toml.write_text(toml.read_text().replace("exclusive = []", 'exclusive = ["Production"]'))
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry")
    if driver:
        _cli("install-merge-driver")
    base = _model_file(repo, "base.pkl", b"base model\n")
    _cli("register", "churn", str(base), "--requirements", str(base), "--commit")
    _cli("promote", "churn", "1", "--to", "Staging", "--commit")

    git(repo, "checkout", "-q", "-b", "a")
    art_a = _model_file(repo, "a.pkl", b"model trained on branch a\n")
    _cli("register", "churn", str(art_a), "--requirements", str(base), "--commit")
    _cli("promote", "churn", "2", "--to", "Staging", "--commit")
    _cli("alias", "set", "churn", "champion", "2", "--commit")

    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "b")
    art_b = _model_file(repo, "b.pkl", b"model trained on branch b\n")
    _cli("register", "churn", str(art_b), "--requirements", str(base), "--commit")
    if exclusive:
        _cli("promote", "churn", "2", "--to", "Production", "--commit")
    else:
        _cli("promote", "churn", "1", "--to", "Production", "--approver", "alice@corp", "--commit")
    git(repo, "checkout", "-q", "a")
    if exclusive:
        _cli("promote", "churn", "2", "--to", "Production", "--commit")
    events = repo / "registry" / "events.jsonl"
    return {
        "a_events": git(repo, "show", "a:registry/events.jsonl").splitlines(),
        "b_events": git(repo, "show", "b:registry/events.jsonl").splitlines(),
        "sha_a": _sha(art_a),
        "sha_b": _sha(art_b),
        "events": events,
    }


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(_cli("list", "--json"))
    return data


def _summary() -> list[tuple[int, str, str, tuple[str, ...]]]:
    return [
        (v["version"], v["stage"], v["artifact_sha256"], tuple(v["aliases"])) for v in _versions()
    ]


def test_merge_with_driver_keeps_both_registrations(repo: Path) -> None:
    info = _setup_branches(repo, driver=True)
    merged = _run_git(repo, "merge", "--no-edit", "b")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "CONFLICT" not in merged.stdout

    text = info["events"].read_text()
    assert "<<<<<<<" not in text and ">>>>>>>" not in text
    assert "<<<<<<<" not in (repo / "registry" / "ledger.csv").read_text()
    summary = _summary()
    numbers = [v for v, *_ in summary]
    assert numbers == [1, 2, 3]
    shas = {sha for _, _, sha, _ in summary}
    assert {info["sha_a"], info["sha_b"]} <= shas
    for number, _, sha, _ in summary:
        path = Path(_cli("path", "churn", str(number)).strip())
        assert _sha(path) == sha

    # Every event of both branches is in the trail: ours verbatim, theirs re-chained.
    lines = text.splitlines()
    for line in info["a_events"]:
        assert line in lines
    merged_events = [json.loads(line) for line in lines]
    merge_event = merged_events[-1]
    assert merge_event["action"] == "merge"
    b_events = [json.loads(line) for line in info["b_events"]]
    a_hashes = {json.loads(line)["hash"] for line in info["a_events"]}
    for event in b_events:
        if event["hash"] in a_hashes:
            continue
        assert event["hash"] in merge_event["data"]["rechained"]
        new_hash = merge_event["data"]["rechained"][event["hash"]]
        twin = next(e for e in merged_events if e["hash"] == new_hash)
        assert (twin["time"], twin["actor"], twin["action"]) == (
            event["time"],
            event["actor"],
            event["action"],
        )
    assert any(e["action"] == "renumber" for e in merged_events)
    shown = _cli("history").splitlines()
    merge_row = next(row for row in shown if " merge " in row)
    assert f"{merge_event['data']['ours'][:8]} + {merge_event['data']['theirs'][:8]}" in merge_row

    res = run_proc("verify")
    assert res.returncode == 0, res.stderr
    # The merge commit is clean and complete.
    assert git(repo, "status", "--porcelain", "--", "registry") == ""


def test_merge_is_the_same_in_both_directions(repo: Path) -> None:
    _setup_branches(repo, driver=True)
    git(repo, "branch", "a0", "a")
    git(repo, "branch", "b0", "b")
    assert _run_git(repo, "merge", "--no-edit", "b0").returncode == 0
    forward = _summary()
    git(repo, "checkout", "-q", "b0")
    res = _run_git(repo, "merge", "--no-edit", "a0")
    assert res.returncode == 0, res.stdout + res.stderr
    backward = _summary()
    assert forward == backward
    assert run_proc("verify").returncode == 0
    # a registered first, so a's version keeps 2; b's becomes 3. b moved v1 to Production.
    assert [(v, stage, aliases) for v, stage, _, aliases in forward] == [
        (1, "Production", ()),
        (2, "Staging", ("champion",)),
        (3, "None", ()),
    ]


def test_merge_without_driver_conflicts_and_verify_names_it(repo: Path) -> None:
    _setup_branches(repo, driver=False)
    merged = _run_git(repo, "merge", "--no-edit", "b")
    assert merged.returncode != 0
    assert "CONFLICT" in merged.stdout
    res = run_proc("verify")
    assert res.returncode == 6, res.stderr
    assert "git conflict marker" in res.stderr
    assert "unresolved git merge conflict" in res.stderr
    assert "Traceback" not in res.stderr
    # Reading commands say the same in one sentence, not a traceback.
    listed = run_proc("list")
    assert listed.returncode == 6, listed.stderr
    assert "is a git conflict marker; `minireg verify` lists what to fix." in listed.stderr


def test_driver_refuses_two_versions_in_an_exclusive_stage(repo: Path) -> None:
    info = _setup_branches(repo, driver=True, exclusive=True)
    ours_before = info["events"].read_bytes()
    merged = _run_git(repo, "merge", "--no-edit", "b")
    assert merged.returncode != 0
    assert "CONFLICT" in merged.stdout
    # No conflict markers: the file is left as this branch had it.
    assert info["events"].read_bytes() == ours_before
    res = run_proc("verify")
    assert res.returncode == 6, res.stderr
    assert "unresolved git merge conflict" in res.stderr
    assert (
        res.stderr.count("the merge driver stopped: both branches moved churn into Production") == 1
    )
    assert "Traceback" not in res.stderr


def test_install_merge_driver_uses_this_interpreter(repo: Path) -> None:
    import sys

    _cli("init")
    (repo / "registry" / ".gitattributes").write_text("ledger.csv text eol=lf\n")
    res = run_cli("install-merge-driver")
    assert res.exit_code == 0, res.stderr
    driver = git(repo, "config", "--get", "merge.minireg.driver")
    assert driver.startswith(sys.executable) or sys.executable in driver
    assert driver.endswith("-m minireg merge-driver %O %A %B %P")
    attributes = (repo / "registry" / ".gitattributes").read_text()
    assert "events.jsonl merge=minireg" in attributes
    assert "ledger.csv merge=minireg" in attributes
    assert "commit that file" in res.stderr


def test_init_writes_merge_attributes(repo: Path) -> None:
    _cli("init")
    attributes = (repo / "registry" / ".gitattributes").read_text().splitlines()
    assert "events.jsonl merge=minireg" in attributes
    assert "ledger.csv merge=minireg" in attributes
    check = git(repo, "check-attr", "merge", "--", "registry/events.jsonl")
    assert check.endswith("merge: minireg")


def test_pull_rebase_renumbers_the_local_registration(repo: Path) -> None:
    """CI's retry path: rebase a local registration onto an upstream that took the number.

    The local one was registered first, yet it is the one that moves: upstream's
    version 1 is published and keeps its number.
    """
    _cli("init")
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry")
    _cli("install-merge-driver")
    git(repo, "checkout", "-q", "-b", "ci")
    local = _model_file(repo, "ci.pkl", b"ci\n")
    _cli("register", "churn", str(local), "--commit")
    git(repo, "checkout", "-q", "main")
    upstream = _model_file(repo, "up.pkl", b"upstream\n")
    _cli("register", "churn", str(upstream), "--commit")
    git(repo, "checkout", "-q", "ci")
    res = _run_git(repo, "rebase", "main")
    assert res.returncode == 0, res.stdout + res.stderr
    assert [(v, sha) for v, _, sha, _ in _summary()] == [(1, _sha(upstream)), (2, _sha(local))]
    assert run_proc("verify").returncode == 0
    assert run_proc("verify", "--against-git").returncode == 0

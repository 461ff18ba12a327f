"""The state cache gives exactly the folded state, and never a stale one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import minireg
from minireg.domain.state import fold
from minireg.storage.cache import STATE_NAME as CACHE_NAME
from tests.conftest import run_proc


def assert_state_equals_fold(reg: minireg.Registry) -> None:
    expected = fold(reg.events(), reg.config.initial_stage)
    for _ in range(2):  # the first call may fill the cache, the second reads it
        got = reg.state()
        assert got.versions == expected.versions
        assert list(got.versions) == list(expected.versions)
        assert got.aliases == expected.aliases
        assert got.anomalies == expected.anomalies
        assert (got.head, got.count, got.initial_stage) == (
            expected.head,
            expected.count,
            expected.initial_stage,
        )
    assert (reg.root / ".cache" / CACHE_NAME).is_file()


def test_cached_state_equals_the_fold_through_every_kind_of_change(
    reg: minireg.Registry, artifact: Path
) -> None:
    rng = random.Random(3)
    assert_state_equals_fold(reg)
    for n in range(12):
        model = rng.choice(["churn", "fraud"])
        reg.register(
            model,
            artifact,
            metrics={"auc_roc": rng.random(), "n": n},
            params={"C": rng.random(), "empty": ""},
            tags={"t": str(n)},
            description=f"v {n}, ünïcode",
            requirements=b"x==1\n",
            actor="me",
        )
        assert_state_equals_fold(reg)
    reg.promote("churn", 1, "Staging", actor="me")
    reg.set_alias("churn", "champion", 1, actor="me")
    reg.set_tag("churn", 1, "k", "v", actor="me")
    reg.set_description("churn", 1, "described", actor="me")
    assert_state_equals_fold(reg)
    assert reg.get("churn", 1).aliases == ("champion",)


def test_an_edited_trail_is_folded_again_not_read_from_the_cache(
    reg: minireg.Registry, artifact: Path
) -> None:
    reg.register("churn", artifact, description="original", requirements=b"x==1\n", actor="me")
    assert reg.get("churn", 1).description == "original"
    events = reg.root / "events.jsonl"
    events.write_bytes(events.read_bytes().replace(b'"original"', b'"edited"'))
    assert reg.get("churn", 1).description == "edited"
    # A half-written last line does not change the answer, and the cache still matches.
    with open(events, "ab") as fh:
        fh.write(b'{"seq": 2, "half')
    assert reg.get("churn", 1).description == "edited"
    assert [r.version for r in reg.versions()] == [1]


@pytest.mark.parametrize("junk", [b"", b"not marshal data", b"\xe3\x00\x00"])
def test_a_broken_cache_file_is_ignored_and_replaced(
    reg: minireg.Registry, artifact: Path, repo: Path, junk: bytes
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    cache = reg.root / ".cache" / CACHE_NAME
    reg.state()
    cache.write_bytes(junk)
    assert [r.version for r in reg.versions("churn")] == [1]
    assert cache.read_bytes() != junk
    out = run_proc("path", "churn", "1", "-r", str(reg.root), cwd=repo)
    assert out.returncode == 0 and Path(out.stdout.strip()).read_bytes() == artifact.read_bytes()


def test_a_bad_line_still_fails_with_the_cache(reg: minireg.Registry, artifact: Path) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    reg.state()
    with open(reg.root / "events.jsonl", "ab") as fh:
        fh.write(b"<<<<<<< HEAD\n")
    with pytest.raises(minireg.IntegrityError, match="git conflict marker"):
        reg.state()


def test_a_dead_readers_temp_copy_is_cleaned_up(reg: minireg.Registry, artifact: Path) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    cache = reg.root / ".cache"
    cache.mkdir(exist_ok=True)
    orphan = cache / f".tmp-{2**22 + 12345}-abcd1234-{CACHE_NAME}"
    orphan.write_bytes(b"half")
    (cache / CACHE_NAME).unlink(missing_ok=True)
    assert [r.version for r in reg.versions()] == [1]
    assert not orphan.exists()
    assert (cache / CACHE_NAME).is_file()

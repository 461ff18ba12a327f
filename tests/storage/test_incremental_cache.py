"""The read cache, keyed by where the trail ended, gives exactly the state of a full fold.

Hypothesis drives real registries in real git repositories through writes, commits, git
checkouts of older commits, merges of a side branch (with the minireg merge driver),
truncations, torn and unterminated last lines, and writes whose cache entry is lost (as
after a pull); after every step the state read through
the cache (which folds only the events after its entry) must equal a fold of the whole
trail by a reference reader that knows nothing of the cache, and a stamped ledger must be
exactly the view of the events.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import minireg
from minireg.domain.chain import chain_problems, split_trail
from minireg.domain.ledger import render_csv
from minireg.domain.records import Event
from minireg.domain.state import State, fold
from minireg.errors import IntegrityError, NotFound, Refused
from minireg.storage import cache

MODELS = ("a", "b")
OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "register",
                "register",
                "promote",
                "alias",
                "tag",
                "commit",
                "checkout",
                "merge",
                "truncate",
                "torn",
                "unterminate",
                "nocache",
                "behind",
                "behind",
                "behind",
                "behind",
            ]
        ),
        st.sampled_from(MODELS),
        st.integers(1, 6),
    ),
    min_size=3,
    max_size=22,
)


def reference(root: Path, initial: str = "None") -> State:
    """The state of the trail by the plainest reading: every line, the standard library."""
    trail = split_trail((root / "events.jsonl").read_bytes())
    events = [Event.from_line(line) for line in trail.lines]
    state = fold(events, initial)
    state.anomalies[:0] = chain_problems(events)
    return state


def assert_same(got: State, want: State) -> None:
    assert list(got.versions) == list(want.versions)
    assert dict(got.versions.items()) == dict(want.versions.items())
    assert got.aliases == want.aliases
    assert got.anomalies == want.anomalies
    assert (got.head, got.count) == (want.head, want.count)


def assert_views_hold(reg: minireg.Registry) -> None:
    """The cached state is the full fold, and a ledger the stamp vouches for is its view."""
    try:
        want = reference(reg.root)
    except (ValueError, KeyError, TypeError):  # a line that is not an event: both refuse
        with pytest.raises(IntegrityError, match="is not an event"):
            reg.storage.state(reg.config.initial_stage)
        return
    folded = reg.storage.state(reg.config.initial_stage)
    assert_same(folded.state, want)
    assert folded.end == cache.current_end(reg.storage.events_path)
    vouched = reg.storage.vouched_ledger(folded.end)
    if vouched is not None:
        assert vouched == render_csv(want.records())


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


def _commit(repo: Path, commits: list[str]) -> None:
    _git(repo, "add", "-A", "registry")
    if _git(repo, "status", "--porcelain", "--", "registry"):
        _git(repo, "commit", "-q", "-m", f"registry {len(commits)}")
        commits.append(_git(repo, "rev-parse", "HEAD"))


def _write(reg: minireg.Registry, artifact: Path, verb: str, model: str, n: int) -> None:
    versions = [r.version for r in reg.state().of_model(model)]
    if verb == "register" or not versions:
        artifact.write_bytes(f"model {model} {n} {os.urandom(4).hex()}\n".encode())
        reg.register(
            model,
            artifact,
            metrics={"auc_roc": n / 10},
            requirements=b"x\n",
            actor="t",
            code_dir=artifact.parent,
        )
        return
    version = versions[n % len(versions)]
    if verb == "promote":
        stage = ["Staging", "Production", "Archived"][n % 3]
        reg.promote(model, version, stage, archive_existing=True, actor="t")
    elif verb == "alias":
        reg.set_alias(model, "champion", version, actor="t")
    else:
        reg.set_tag(model, version, f"k{n % 2}", str(n), actor="t")


def _merge(repo: Path, reg: minireg.Registry, commits: list[str], artifact: Path, n: int) -> None:
    """Register on a branch from an earlier commit, then merge it with the minireg driver."""
    _commit(repo, commits)
    if not commits:
        return
    _git(repo, "checkout", "-q", "-B", "side", commits[-1 - n % len(commits)])
    try:
        _write(reg, artifact, "register", "b", n)
        _commit(repo, commits)
    except (IntegrityError, Refused, NotFound):
        pass  # a trail that does not check out (two torn appends made a line) refuses writes
    finally:
        _git(repo, "checkout", "-q", "main")
    merged = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "side"], cwd=repo, capture_output=True, check=False
    )
    if merged.returncode != 0:
        _git(repo, "merge", "--abort")
    else:
        commits.append(_git(repo, "rev-parse", "HEAD"))


def _damage(reg: minireg.Registry, verb: str, n: int) -> None:
    events = reg.storage.events_path
    data = events.read_bytes()
    if verb == "truncate":
        lines = data.splitlines(keepends=True)
        events.write_bytes(b"".join(lines[: max(0, len(lines) - n % 3 - 1)]))
    elif verb == "torn" and data:
        events.write_bytes(data + data[-60:-30])
    elif verb == "unterminate" and data.endswith(b"\n"):
        events.write_bytes(data[:-1])


def _step(repo: Path, reg: minireg.Registry, commits: list[str], op: tuple[str, str, int]) -> None:
    verb, model, n = op
    artifact = repo / "model.bin"
    if verb == "commit":
        _commit(repo, commits)
    elif verb == "checkout" and commits:
        _git(repo, "checkout", "-q", commits[n % len(commits)], "--", "registry")
    elif verb == "merge":
        _merge(repo, reg, commits, artifact, n)
    elif verb in ("truncate", "torn", "unterminate"):
        _damage(reg, verb, n)
    elif verb == "nocache":
        for entry in (reg.root / ".cache").glob("*"):
            entry.unlink()
    elif verb == "behind":
        # A write whose cache entry is lost (as if it came with a git pull): the cache is
        # left one write behind, and the next read folds the events after it.
        saved = {p: p.read_bytes() for p in (reg.root / ".cache").glob("*")}
        _step(repo, reg, commits, (["register", "promote", "alias"][n % 3], model, n))
        for entry in (reg.root / ".cache").glob("*"):
            entry.unlink()
        for path, data in saved.items():
            path.write_bytes(data)
    else:
        try:
            _write(reg, artifact, verb, model, n)
        except (IntegrityError, Refused, NotFound):
            pass  # a trail that does not check out refuses writes; the views must still hold


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
# An entry made of an unterminated trail, met again once an append ended its line.
@example(
    ops=[("register", "a", 1), ("unterminate", "a", 1), ("behind", "a", 1), ("truncate", "a", 3)]
)
# Two torn appends that end a line: the side branch's write is refused, not an error.
@example(
    ops=[
        ("register", "a", 1),
        ("merge", "a", 1),
        ("torn", "a", 1),
        ("torn", "a", 1),
        ("merge", "a", 5),
    ]
)
def test_the_cache_gives_the_full_fold_after_writes_checkouts_merges_and_truncations(
    ops: list[tuple[str, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        _git(repo, "init", "-q")
        _git(repo, "commit", "-q", "--allow-empty", "-m", "initial")
        reg = minireg.init_registry(repo / "registry")
        subprocess.run(
            [sys.executable, "-m", "minireg", "install-merge-driver"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
        commits: list[str] = []
        _commit(repo, commits)
        for op in ops:
            _step(repo, reg, commits, op)
            assert_views_hold(reg)


# -- the paths one at a time ----------------------------------------------------------------


def _forbid_full_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the whole trail was folded")

    monkeypatch.setattr(cache, "_fold_all", refuse)


def _register(reg: minireg.Registry, artifact: Path, times: int) -> None:
    for n in range(times):
        artifact.write_bytes(f"model {n}\n".encode())
        reg.register("churn", artifact, requirements=b"x\n", actor="me", code_dir=artifact.parent)


def test_a_write_on_a_current_cache_folds_only_the_events_after_it(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(reg, artifact, 3)
    other = minireg.open_registry(reg.root)
    saved = (reg.root / ".cache" / cache.STATE_NAME).read_bytes()
    other.promote("churn", 2, "Staging", actor="other")  # as if it came with a pull:
    (reg.root / ".cache" / cache.STATE_NAME).write_bytes(saved)  # the cache is one write behind
    _forbid_full_folds(monkeypatch)
    reg.promote("churn", 3, "Production", actor="me")
    assert [r.stage for r in reg.versions("churn")] == ["None", "Staging", "Production"]
    assert_same(reg.state(), reference(reg.root))


def test_a_fork_after_the_cached_end_is_refused_having_read_only_the_tail(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(reg, artifact, 2)
    events = reg.storage.events_path
    lines = events.read_bytes().splitlines(keepends=True)
    events.write_bytes(b"".join([*lines, lines[-1]]))  # the last event again: a broken chain
    before = events.read_bytes()
    _forbid_full_folds(monkeypatch)
    with pytest.raises(IntegrityError, match="line 3: prev does not match") as err:
        reg.promote("churn", 1, "Staging", actor="me")
    assert err.value.exit_code == 6
    assert events.read_bytes() == before


def test_anomalies_found_by_a_full_fold_are_kept_with_the_state(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(reg, artifact, 2)
    events = reg.storage.events_path
    data = events.read_bytes()
    first = Event.from_line(data.splitlines()[0].decode())
    edited = Event(**{**first.__dict__, "reason": "edited"})  # its hash no longer matches
    events.write_bytes(b"\n".join([edited.to_line().encode(), *data.splitlines()[1:]]) + b"\n")
    assert reg.state().anomalies[0].startswith("line 1: content does not match its hash")
    _forbid_full_folds(monkeypatch)
    assert reg.state().anomalies == reference(reg.root).anomalies
    with pytest.raises(IntegrityError, match="does not check out"):
        reg.promote("churn", 1, "Staging", actor="me")


def test_an_unterminated_last_event_that_goes_on_is_a_torn_line(
    reg: minireg.Registry, artifact: Path
) -> None:
    _register(reg, artifact, 2)
    events = reg.storage.events_path
    events.write_bytes(events.read_bytes()[:-1])  # an editor trimmed the final newline
    assert len(reg.state().versions) == 2  # still an event; the cache now ends there
    with open(events, "ab") as fh:
        fh.write(b', "more": 1')  # the same line goes on: no longer a whole event
    assert_same(reg.state(), reference(reg.root))
    assert len(reg.state().versions) == 1


def test_an_unterminated_last_event_given_its_newline_back_ends_after_it(
    reg: minireg.Registry, artifact: Path
) -> None:
    _register(reg, artifact, 2)
    events = reg.storage.events_path
    events.write_bytes(events.read_bytes()[:-1])  # an editor trimmed the final newline
    assert reg.storage.state(reg.config.initial_stage).end.size == events.stat().st_size
    with open(events, "ab") as fh:
        fh.write(b"\n")  # and a checkout (or the next write) puts it back
    folded = reg.storage.state(reg.config.initial_stage)
    assert folded.events == 0  # read from the cache entry, not folded again
    assert folded.end == cache.current_end(events)
    assert folded.end.size == events.stat().st_size
    assert_same(folded.state, reference(reg.root))


def test_a_torn_tail_is_left_out_then_cut_by_the_next_write(
    reg: minireg.Registry, artifact: Path
) -> None:
    _register(reg, artifact, 2)
    events = reg.storage.events_path
    with open(events, "ab") as fh:
        fh.write(b'{"seq": 3, "torn' + b"x" * 200_000)  # longer than one read window
    assert_same(reg.state(), reference(reg.root))
    _register(reg, artifact, 1)
    assert b"torn" not in events.read_bytes()
    assert reg.verify().ok
    assert_same(reg.state(), reference(reg.root))


def test_the_end_is_read_from_the_last_lines(reg: minireg.Registry, artifact: Path) -> None:
    assert cache.current_end(reg.storage.events_path) == cache.EMPTY
    _register(reg, artifact, 2)
    long = "d" * 300_000
    reg.set_description("churn", 1, long, actor="me")  # one line longer than a read window
    folded = reg.storage.state(reg.config.initial_stage)
    assert cache.current_end(reg.storage.events_path) == folded.end
    assert folded.end.size == reg.storage.events_path.stat().st_size
    assert reg.storage.ends_at(folded.end)
    stamp = (reg.root / ".cache" / cache.STAMP_NAME).read_text()
    assert str(folded.end.as_list()).replace("'", '"') in stamp


def test_a_damaged_records_file_falls_back_to_the_trail(
    reg: minireg.Registry, artifact: Path
) -> None:
    _register(reg, artifact, 3)
    reg.set_description("churn", 2, "second", actor="me")
    records = next((reg.root / ".cache").glob("records-*"))
    data = records.read_bytes()
    records.write_bytes(data[:10] + b"\xff" * (len(data) - 10))  # same size, junk inside
    fresh = minireg.open_registry(reg.root)
    assert fresh.get("churn", 2).description == "second"
    assert [r.version for r in fresh.versions("churn")] == [1, 2, 3]
    assert not (reg.root / ".cache" / cache.STATE_NAME).exists()  # dropped, made again later
    assert_same(fresh.state(), reference(reg.root))


def test_a_cache_of_another_format_is_folded_again(reg: minireg.Registry, artifact: Path) -> None:
    import marshal

    _register(reg, artifact, 2)
    index = reg.root / ".cache" / cache.STATE_NAME
    index.write_bytes(marshal.dumps({"format": 3, "key": "0" * 64, "records": []}))
    assert_same(reg.state(), reference(reg.root))
    assert marshal.loads(index.read_bytes())["format"] != 3


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_states_read_from_the_cache_let_go_of_their_files(
    reg: minireg.Registry, artifact: Path
) -> None:
    _register(reg, artifact, 2)
    reg.state()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(40):
        assert reg.state().versions[("churn", 1)].version == 1  # reads a record: opens the file
    assert len(os.listdir("/proc/self/fd")) <= before + 1


def test_after_a_full_fold_unchanged_versions_are_read_from_their_register_lines(
    reg: minireg.Registry, artifact: Path
) -> None:
    _register(reg, artifact, 5)
    reg.promote("churn", 2, "Staging", actor="me")
    for entry in (reg.root / ".cache").glob("*"):
        entry.unlink()  # a fresh clone
    reg.state()  # folds everything and saves the cache
    records = next((reg.root / ".cache").glob("records-*"))
    state = reg.storage.state(reg.config.initial_stage).state
    source = state.versions.source
    assert [bool(ref) for ref in source.places.refs] == [True, False, True, True, True]  # type: ignore[union-attr]
    assert len(records.read_bytes()) < 1000  # one record copied, the promoted one
    assert_same(state, reference(reg.root))
    size = records.stat().st_size
    reg.set_description("churn", 4, "changed", actor="me")  # one more record appended
    assert size < records.stat().st_size < 2 * size + 1000
    assert_same(reg.state(), reference(reg.root))


def test_a_ledger_edited_in_place_is_not_vouched_for(reg: minireg.Registry, artifact: Path) -> None:
    _register(reg, artifact, 2)
    end = reg.storage.state(reg.config.initial_stage).end
    ledger = reg.root / "ledger.csv"
    assert reg.storage.vouched_ledger(end) == ledger.read_bytes()
    with open(ledger, "r+b") as fh:  # the same size, the same inode: only the times move
        fh.seek(ledger.read_bytes().index(b"churn,2"))
        fh.write(b"churn,3")
    assert reg.storage.vouched_ledger(end) is None
    reg.promote("churn", 1, "Staging", actor="me")  # so the write renders the ledger again
    assert ledger.read_bytes() == render_csv(reference(reg.root).records())


def test_reads_at_an_offset_without_pread(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the platform has no os.pread (Windows), a seek and a read stand in."""
    _register(reg, artifact, 3)
    for entry in (reg.root / ".cache").glob("*"):
        entry.unlink()
    reg.state()  # a full fold: unchanged versions are read from their register lines
    monkeypatch.delattr(os, "pread")
    other = minireg.open_registry(reg.root)
    other.promote("churn", 2, "Staging", actor="me")  # the tail, the append, the records
    assert_same(minireg.open_registry(reg.root).state(), reference(reg.root))
    assert other.get("churn", 3).version == 3

"""A write finds its ledger rows in the open file and copies the rest from file to file.

:class:`LedgerFile` answers as the file's bytes would (checked against ``bytes``
with reads small enough that every search takes several), and
:func:`atomic_write` of its pieces gives exactly the edited bytes, through the
kernel's copy and through the copy in memory, and fails whole when the file
being copied shrinks.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minireg
from minireg.domain.ledger import render_csv
from minireg.domain.ledger_rows import Edit, edited
from minireg.domain.state import fold
from minireg.storage import atomic
from minireg.storage.atomic import Stretch, atomic_write
from minireg.storage.ledger_file import LedgerFile
from tests.support.registry import checked_events


class SmallReads(LedgerFile):
    """Reads of a few bytes, so every search crosses many of them."""

    first_read = 3
    most_read = 11


def _view(folder: Path, data: bytes) -> LedgerFile:
    path = folder / f"ledger-{os.urandom(4).hex()}.csv"
    path.write_bytes(data)
    return SmallReads(os.open(path, os.O_RDONLY), len(data))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("views")


data_st = st.lists(st.sampled_from([b"a", b"b", b"\n", b"ab\n", b"model,1\n", b'"', b"\r"]))
index_st = st.none() | st.integers(-40, 80)


@settings(max_examples=300, deadline=None)
@given(
    parts=data_st,
    sub=st.sampled_from([b"\n", b"a", b"ab", b"b\na", b"model,", b"zz"]),
    start=st.integers(-40, 80),
    end=index_st,
)
def test_the_view_answers_as_the_bytes_do(
    folder: Path, parts: list[bytes], sub: bytes, start: int, end: int | None
) -> None:
    data = b"".join(parts)
    with _view(folder, data) as view:
        assert len(view) == len(data)
        assert view.find(sub, start, end) == data.find(sub, start, end)
        assert view.rfind(sub, start, end) == data.rfind(sub, start, end)
        assert view.find(sub) == data.find(sub)
        assert view.rfind(sub) == data.rfind(sub)
        assert view.count(sub) == data.count(sub)
        assert (sub in view) == (sub in data)
        assert view.endswith(sub) == data.endswith(sub)
        assert view[start:end] == data[start:end]
        assert view[:] == data


def _edits(data: bytes, cuts: list[int], rows: list[bytes]) -> list[Edit]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    pairs = list(zip(points[::2], points[1::2])) or [(len(data), len(data))]
    return [(start, end, row) for (start, end), row in zip(pairs, rows * len(pairs))]


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel copy", "copy in memory"])
@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=3000),
    cuts=st.lists(st.integers(0, 3000), max_size=8),
    rows=st.lists(st.binary(max_size=40), min_size=1, max_size=4),
)
def test_pieces_written_are_the_edited_bytes(
    folder: Path, kernel: bool, data: bytes, cuts: list[int], rows: list[bytes]
) -> None:
    edits = _edits(data, cuts, rows)
    target = folder / f"out-{os.urandom(4).hex()}.csv"
    saved = atomic._kernel_copy[0]
    atomic._kernel_copy[0] = kernel and saved
    try:
        with _view(folder, data) as view:
            atomic_write(target, view.pieces(edits))
    finally:
        atomic._kernel_copy[0] = saved
    assert target.read_bytes() == edited(data, edits)


def test_a_file_that_shrinks_while_copied_fails_the_write_whole(tmp_path: Path) -> None:
    source = tmp_path / "ledger.csv"
    source.write_bytes(b"model,version\n" + b"churn,1\n" * 1000)
    target = tmp_path / "out.csv"
    target.write_bytes(b"before\n")
    with open(source, "rb") as fh:
        pieces = [b"new\n", Stretch(fh.fileno(), 0, source.stat().st_size)]
        os.truncate(source, 100)  # edited in place by hand, say
        with pytest.raises(OSError, match="got shorter"):
            atomic_write(target, pieces)
    assert target.read_bytes() == b"before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.csv", "out.csv"]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_a_write_holds_a_few_pages_of_the_ledger_and_closes_it(
    reg: minireg.Registry, tmp_path: Path
) -> None:
    """The old way read the whole ledger into memory; the rows are found in the file now."""
    art = tmp_path / "m.bin"
    art.write_bytes(b"model\n")
    long = "a description that makes every row long " * 150
    reg.register_many(
        [{"model": f"m{n % 7}", "artifact": art, "description": long} for n in range(1500)]
    )
    size = (reg.root / "ledger.csv").stat().st_size
    assert size > 8_000_000
    reg.register("m3", art, metrics={"auc": 0.5})  # the read cache is current after it
    fds = _open_fds()

    tracemalloc.start()
    try:
        reg.register("m3", art, metrics={"auc": 0.6})
        reg.promote("m3", 2, "Staging")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < size / 4, (peak, size)
    assert _open_fds() == fds
    events = checked_events(reg.root)
    assert (reg.root / "ledger.csv").read_bytes() == render_csv(fold(events).records())
    assert reg.verify().ok

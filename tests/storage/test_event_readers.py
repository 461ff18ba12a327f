"""msgspec and the standard library read every line of events.jsonl the same way.

msgspec (the ``fast`` extra) is used when installed; anything it does not take exactly as
``json`` would is read again by ``json``. Hypothesis writes event lines in minireg's form and
in forms minireg never writes (spaces, missing or extra fields, wrong types, huge numbers,
NaN, lone surrogates, bytes that are not UTF-8, duplicate keys) and both readers must give
the same events, or the same error. A cold read of a real registry folds to the same state
with either reader.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minireg
from minireg.domain.records import Draft, chain
from minireg.errors import IntegrityError
from minireg.storage import events as readers
from minireg.storage.events import parse_lines

PATH = Path("events.jsonl")
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
EVENTS = st.fixed_dictionaries(
    {
        "seq": st.integers(1, 2**40),
        "time": st.just("2024-01-01T00:00:00.000000Z"),
        "actor": st.text(max_size=6),
        "tool": st.just("minireg 0.1.0"),
        "action": st.sampled_from(["register", "transition"]),
        "model": st.text(min_size=1, max_size=6),
        "version": st.none() | st.integers(1, 99),
        "data": st.dictionaries(st.text(max_size=6), VALUES, max_size=4),
        "approver": st.text(max_size=4),
        "reason": st.text(max_size=6),
        "prev": st.sampled_from(["0" * 64, "ab" * 32]),
        "hash": st.sampled_from(["", "cd" * 32]),
    }
)


def _variants(raw: dict[str, object], change: str, value: object) -> bytes:
    """``raw`` written as minireg writes it, or changed in a way minireg never writes."""
    if change == "canonical":
        body = dict(raw)
        try:
            return json.dumps(
                body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode("utf-8", "surrogatepass")
        except ValueError:
            change = "spaced"
    if change == "spaced":
        return json.dumps(raw, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if change == "ascii":
        return json.dumps(raw).encode()
    if change == "missing":
        key = sorted(raw)[int(abs(hash(str(value)))) % len(raw)]
        return json.dumps({k: v for k, v in raw.items() if k != key}).encode()
    if change == "retyped":
        key = sorted(raw)[int(abs(hash(str(value)))) % len(raw)]
        return json.dumps({**raw, key: value}).encode()
    if change == "duplicate":
        return json.dumps(raw).encode()[:-1] + b', "seq": ' + json.dumps(value).encode() + b"}"
    if change == "not utf-8":
        return json.dumps(raw, ensure_ascii=False).encode().replace(b'"t"', b'"t\xff\xfe"')
    if change == "bom":
        return b"\xef\xbb\xbf" + json.dumps(raw).encode()
    return json.dumps(raw).encode() + b" trailing"


def _read(lines: list[bytes], fast: bool) -> object:
    """The events of ``lines`` by one reader (a few lines go to json anyway: pad them)."""
    padded = lines * (readers._FEW // len(lines) + 1)
    with pytest.MonkeyPatch.context() as m:
        if not fast:
            m.setattr(readers, "fast_decoder", lambda: None)
        try:
            return [repr(event) for event in parse_lines(padded, PATH)]
        except IntegrityError as exc:
            return ("error", str(exc))


def test_msgspec_is_the_reader_here(monkeypatch: pytest.MonkeyPatch) -> None:
    assert readers.reader() == "msgspec"  # the dev extra installs it; the fallback is tested below
    slow: list[int] = []
    real = readers._slow

    def counting(line: bytes, number: int, path: Path) -> object:
        slow.append(number)
        return real(line, number, path)

    monkeypatch.setattr(readers, "_slow", counting)
    drafts = [Draft("register", "m", n, {"metrics": {"auc": n / 3}}) for n in range(1, 41)]
    lines = [e.to_line().encode() for e in chain(drafts, head=None, time="t", actor="a", tool="t")]
    assert len(parse_lines(lines, PATH)) == 40
    assert slow == [1]  # msgspec read them all but the first (prev is GENESIS: json decides)
    assert len(parse_lines(lines[5:10], PATH)) == 5
    assert slow == [1, 1, 2, 3, 4, 5]  # a few lines: json, already imported


@settings(max_examples=400, deadline=None)
@given(
    raw=EVENTS,
    change=st.sampled_from(
        ["canonical", "spaced", "ascii", "missing", "retyped", "duplicate", "not utf-8", "bom", "x"]
    ),
    value=VALUES,
)
def test_both_readers_read_every_line_alike(
    raw: dict[str, object], change: str, value: object
) -> None:
    line = _variants(raw, change, value)
    fast = _read([line], fast=True)
    plain = _read([line], fast=False)
    assert fast == plain


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "NaN", "Infinity", "12345678901234567890123"]
)
def test_numbers_beyond_a_machine_word_read_alike(number: str) -> None:
    event = chain([Draft("register", "m", 1, {})], head=None, time="t", actor="a", tool="t")[0]
    line = event.to_line().replace('"data":{}', f'"data":{{"x":{number}}}').encode()
    fast, plain = _read([line], True), _read([line], False)
    assert fast == plain
    assert isinstance(fast, list)
    value = json.loads(line)["data"]["x"]
    assert isinstance(value, int) or math.isinf(value) or math.isnan(value)


def test_a_cold_read_folds_to_the_same_state_with_either_reader(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(6):
        artifact.write_bytes(f"model {n} ünïcode\n".encode())
        reg.register(
            "churn" if n % 2 else "fraud",
            artifact,
            metrics={"auc_roc": n / 7, "big": 10.0**20},
            params={"p": "x\ty"},
            tags={"t": "\u2028"},
            requirements=b"x\n",
            actor="me",
        )
    reg.promote("churn", 1, "Production", actor="me")
    reg.set_alias("fraud", "champion", 2, actor="me")
    states = []
    for fast in (True, False):
        shutil.rmtree(reg.root / ".cache", ignore_errors=True)
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(readers, "fast_decoder", lambda: None)
            state = minireg.open_registry(reg.root).state()
            states.append(
                (dict(state.versions.items()), state.aliases, state.anomalies, state.head)
            )
    assert states[0] == states[1]
    assert len(states[0][0]) == 6

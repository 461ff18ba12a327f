"""`Registry.listing` reads a vouched-for ledger without folding the events, and only then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import minireg
from minireg.domain.listing import of_records


def test_a_vouched_ledger_is_read_without_folding(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        reg.register("churn", artifact, metrics={"auc_roc": n / 10}, requirements=b"", actor="me")
    reg.set_alias("churn", "champion", 2, actor="me")
    expected = of_records(reg.versions("churn"), None, one_model=True)
    folds: list[int] = []  # a listing that does not come from the ledger reads the records
    real = reg.versions

    def counting(*args: Any, **kw: Any) -> Any:
        folds.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(reg, "versions", counting)
    assert reg.listing("churn") == expected
    assert reg.listing("churn", newest=2).rows == expected.rows[1:]
    assert folds == [], "the ledger stamp vouches for ledger.csv: no fold"
    # An edited ledger is not vouched for: the listing comes from the events.
    ledger = reg.root / "ledger.csv"
    ledger.write_bytes(ledger.read_bytes().replace(b",champion,", b",challenger,"))
    assert reg.listing("churn") == expected
    assert folds == [1]
    with pytest.raises(minireg.NotFound):
        reg.listing("fraud")

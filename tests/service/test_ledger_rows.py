"""Writes that change a few rows rewrite only those rows, and the ledger stays byte for byte a full
render (hypothesis over random sequences of real writes on a real registry)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minireg
from minireg.domain.ledger import render_csv
from minireg.domain.state import fold
from tests.support.registry import checked_events

MODELS = ("a", "a-b", "b", "churn")
OPS = st.lists(
    st.tuples(
        st.sampled_from(["register", "promote", "alias", "describe", "tag", "untag"]),
        st.sampled_from(MODELS),
        st.integers(1, 4),
        st.sampled_from(["", "plain", 'has, comma and "quotes"', "ünïcode", "x" * 30]),
    ),
    min_size=1,
    max_size=25,
)


def _apply(reg: minireg.Registry, artifact: Path, op: tuple[str, str, int, str]) -> None:
    verb, model, n, text = op
    have = [r.version for r in reg.state().of_model(model)]
    if verb == "register" or not have:
        metrics = {"auc_roc": n / 10} if n % 2 else {"auc_roc": 0.5, f"m{n}": 1.0}
        reg.register(model, artifact, metrics=metrics, requirements=b"x==1\n", actor="me")
        return
    version = have[n % len(have)]
    if verb == "promote":
        stage = ["Staging", "Production", "Archived", "None"][n % 4]
        reg.promote(model, version, stage, archive_existing=True, actor="me")
    elif verb == "alias":
        reg.set_alias(model, ["champion", "challenger"][n % 2], version, actor="me")
    elif verb == "describe":
        reg.set_description(model, version, text, actor="me")
    elif verb == "tag":
        reg.set_tag(model, version, f"k{n % 2}", text or "v", actor="me")
    else:
        reg.delete_tag(model, version, f"k{n % 2}", actor="me")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_every_write_leaves_exactly_the_full_render(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, str, int, str]]
) -> None:
    root = tmp_path_factory.mktemp("rows") / "registry"
    reg = minireg.init_registry(root)
    artifact = root.parent / "model.bin"
    artifact.write_bytes(b"a model\n")
    for op in ops:
        _apply(reg, artifact, op)
        events = checked_events(root)
        assert (root / "ledger.csv").read_bytes() == render_csv(fold(events).records())
    assert reg.verify().ok


def test_a_promotion_replaces_rows_instead_of_rendering_them_all(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    renders: list[int] = []
    real = reg._writer.render

    def counting(*args: object, **kwargs: object) -> bytes:
        renders.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reg._writer, "render", counting)
    reg.promote("churn", 2, "Staging", actor="me")
    reg.set_alias("churn", "champion", 2, actor="me")
    reg.set_alias("churn", "champion", 3, actor="me")  # two rows change
    reg.set_description("churn", 1, "first", actor="me")
    reg.set_tag("churn", 3, "team", "growth", actor="me")  # a new column: a full render
    assert renders == [1]
    events = checked_events(reg.root)
    assert (reg.root / "ledger.csv").read_bytes() == render_csv(fold(events).records())

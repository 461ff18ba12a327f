"""Hooks in minireg.toml, which events call which hook, payloads and vetoes (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from minireg.domain.config import parse_config
from minireg.domain.decisions import plan_promotion
from minireg.domain.hook_payloads import TYPES, environment, event_type, payload, sample_event
from minireg.domain.hook_settings import AfterHook, BeforeHook
from minireg.domain.hooks import CHANGE_OF_ACTION
from minireg.domain.policies import Check
from minireg.domain.records import Draft, Event, chain
from minireg.domain.state import fold
from minireg.domain.vetting import Vetting, vetted
from minireg.errors import InvalidInput, Refused

ISSUE_EXAMPLE = {
    "hooks": {
        "after": [
            {
                "on": ["register", "transition"],
                "models": ["churn_predictor"],
                "stages": ["production"],
                "command": ["python", "notify.py"],
            },
            {
                "on": ["alias"],
                "url": "https://user:pw@hooks.example.com/minireg?token=x",
                "secret_env": "MINIREG_WEBHOOK_SECRET",
            },
        ],
        "before_transition": [{"stages": ["Production"], "command": ["./checks/fairness.sh"]}],
    }
}


def test_the_issue_s_tables_parse_with_stages_in_configured_spelling() -> None:
    hooks = parse_config(ISSUE_EXAMPLE).hooks
    first, second = hooks.after
    assert first == AfterHook(
        on=("register", "transition"),
        models=("churn_predictor",),
        stages=("Production",),
        command=("python", "notify.py"),
        timeout=60.0,
    )
    assert (second.is_webhook, second.timeout, second.retries) == (True, 10.0, 3)
    # Messages name a webhook without its credentials or query string.
    assert second.label == "POST https://hooks.example.com/minireg"
    assert hooks.before_transition == (BeforeHook(("./checks/fairness.sh",), (), ("Production",)),)
    assert hooks.secret_envs == {"MINIREG_WEBHOOK_SECRET"}
    assert parse_config({}).hooks.after == ()


def where(number: int = 1) -> str:
    return f"minireg.toml: [[hooks.after]] #{number}"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"hooks": []}, "minireg.toml: hooks must be written as [[hooks.after]] and "
     "[[hooks.before_transition]] tables."),
    ({"hooks": {"afterwards": []}}, "minireg.toml: [hooks] has unknown setting 'afterwards'; "
     "the settings are after, before_transition."),
    ({"hooks": {"after": {"on": ["register"]}}},
     "minireg.toml: hooks.after must be written as [[hooks.after]] tables."),
    ({"hooks": {"after": [{"command": ["x"]}]}}, f"{where()}: on must list the changes to act "
     "on, from register, transition, alias, describe, tag."),
    ({"hooks": {"after": [{"on": ["promote"], "command": ["x"]}]}}, f"{where()}: on must list "
     "the changes to act on, from register, transition, alias, describe, tag; 'promote' is "
     "not one."),
    ({"hooks": {"after": [{"on": ["register"]}]}}, f"{where()} needs exactly one of command (a "
     "list of program and arguments), url or url_env."),
    ({"hooks": {"after": [{"on": ["register"], "command": ["x"], "url": "http://h/"}]}},
     f"{where()} needs exactly one of command (a list of program and arguments), url or "
     "url_env; it has command and url."),
    ({"hooks": {"after": [{"on": ["register"], "command": "python notify.py"}]}},
     f'{where()}: command must be a list such as ["python", "notify.py"] (it runs without a '
     "shell)."),
    ({"hooks": {"after": [{"on": ["register"], "url": "ftp://h/x"}]}}, f"{where()}: url must be "
     "an http:// or https:// address (or use url_env to keep it out of minireg.toml)."),
    ({"hooks": {"after": [{"on": ["register"], "url": "http://h/", "secret_env": "my secret"}]}},
     f"{where()}: secret_env must name an environment variable, such as "
     '"MINIREG_WEBHOOK_SECRET" (the value itself never goes in minireg.toml).'),
    ({"hooks": {"after": [{"on": ["register"], "command": ["x"], "secret_env": "S"}]}},
     f"{where()}: secret_env is for webhooks, not commands."),
    ({"hooks": {"after": [{"on": ["register"], "command": ["x"], "stages": ["Production"]}]}},
     f'{where()}: stages filters transitions; add "transition" to on.'),
    ({"hooks": {"after": [{"on": ["transition"], "command": ["x"], "stages": ["Prod"]}]}},
     "minireg.toml: [[hooks.after]] #1 stages names unknown stage 'Prod'."),
    ({"hooks": {"after": [{"on": ["tag"], "command": ["x"], "timeout": 0}]}}, f"{where()}: "
     "timeout must be a number of seconds above 0 and at most 3600."),
    ({"hooks": {"after": [{"on": ["tag"], "url": "http://h/", "retries": 11}]}}, f"{where()}: "
     "retries must be a whole number from 0 to 10."),
    ({"hooks": {"after": [{"on": ["tag"], "command": ["x"]}, {"on": ["tag"], "comand": ["x"]}]}},
     f"{where(2)} has unknown setting 'comand'; the settings are on, models, stages, command, "
     "url, url_env, secret_env, timeout, retries."),
    ({"hooks": {"before_transition": [{"stages": ["Production"]}]}}, "minireg.toml: "
     "[[hooks.before_transition]] #1 needs command, a list of program and arguments."),
    ({"hooks": {"before_transition": [{"url": "http://h/"}]}}, "minireg.toml: "
     "[[hooks.before_transition]] #1: a before_transition hook is a command (its exit status "
     "allows or refuses the promotion); a webhook cannot refuse one."),
    ({"hooks": {"before_transition": [{"command": ["x"], "on": ["transition"]}]}},
     "minireg.toml: [[hooks.before_transition]] #1 has unknown setting 'on'; the settings are "
     "models, stages, command, timeout."),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "sentence"), BAD, ids=[s[40:90] for _, s in BAD])
def test_a_bad_hook_table_is_one_sentence(raw: dict[str, Any], sentence: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_config(raw)
    assert caught.value.message == sentence


def event(action: str, data: dict[str, Any], model: str = "churn", **kw: Any) -> Event:
    draft = Draft(action, model, 3, data, **kw)
    return chain([draft], head=None, time="T", actor="ci", tool="t")[0]


def test_hooks_match_by_change_model_and_target_stage() -> None:
    hook = AfterHook(on=("transition",), models=("churn",), stages=("Production",), command=("x",))
    assert hook.matches(event("transition", {"from": "Staging", "to": "Production"}))
    assert not hook.matches(event("transition", {"from": "Production", "to": "Archived"}))
    assert not hook.matches(event("transition", {"to": "Production"}, model="fraud"))
    assert not hook.matches(event("register", {}))
    aliases = AfterHook(on=("alias", "register"), command=("x",))
    assert aliases.matches(event("alias_delete", {"alias": "a"})) and aliases.matches(
        event("register", {})
    )
    assert not aliases.matches(event("merge", {}))
    before = BeforeHook(("x",), stages=("Production",))
    assert before.matches("churn", "Production") and not before.matches("churn", "Staging")


def test_payloads_are_shaped_like_mlflow_s_with_the_event_hash_as_idempotency_key() -> None:
    e = event(
        "transition", {"from": "Staging", "to": "Production"}, approver="alice", reason="AUC up"
    )
    body = payload(e, e.hash)
    assert body == {
        "type": "model_version.transitioned",
        "entity": "model_version",
        "action": "transitioned",
        "timestamp": "T",
        "idempotency_key": e.hash,
        "data": {
            "name": "churn",
            "version": "3",
            "from_stage": "Staging",
            "to_stage": "Production",
            "approver": "alice",
            "reason": "AUC up",
            "actor": "ci",
        },
        "text": "minireg: churn v3 Staging → Production by ci, approved by alice: AUC up",
    }
    env = environment(body)
    assert env["MINIREG_STAGE"] == env["MINIREG_TO_STAGE"] == "Production"
    assert (env["MINIREG_URI"], env["MINIREG_EVENT_ID"]) == ("models:/churn/3", e.hash)
    created = payload(event("register", {"tags": {"k": "v"}, "description": "d"}), "key")
    assert created["type"] == "model_version.created"
    keys = ("name", "version", "source", "tags", "description")
    assert {k: created["data"][k] for k in keys} == {
        "name": "churn",
        "version": "3",
        "source": "models:/churn/3",
        "tags": {"k": "v"},
        "description": "d",
    }
    assert event_type(event("tag", {"key": "k", "value": None})) == "model_version_tag.deleted"
    assert payload(event("alias_set", {"alias": "a", "previous": 2}), "k")["data"] == {
        "name": "churn",
        "version": "3",
        "alias": "a",
        "previous_version": "2",
        "actor": "ci",
    }


@pytest.mark.parametrize("kind", [*TYPES, "register", "transition", "alias", "describe", "tag"])
def test_every_type_has_a_sample(kind: str) -> None:
    sample = sample_event(kind, time="T", actor="me")
    assert sample is not None
    if "." in kind:
        assert event_type(sample) == kind
    else:
        assert CHANGE_OF_ACTION[sample.action] == kind
    assert sample_event("model_version.exploded", time="T", actor="me") is None


def test_verdicts_join_the_checks_and_the_transition_s_data() -> None:
    state = fold([event("register", {})])
    plan = plan_promotion(state, parse_config({}), "churn", 3, "Production")
    verdict = Check("hook ./fair.sh", True, "fair enough")
    joined = vetted(plan, Vetting("None", (verdict,)))
    assert joined.checks == [*plan.checks, verdict]
    assert joined.drafts[-1].data == {
        "from": "None",
        "to": "Production",
        "hooks": [{"hook": "./fair.sh", "passed": True, "detail": "fair enough"}],
    }
    assert vetted(plan, None) is plan
    # Hooks that judged a move out of another stage do not vouch for this one.
    with pytest.raises(Refused, match="moved from Staging to None while its before_transition"):
        vetted(plan, Vetting("Staging", (verdict,)))

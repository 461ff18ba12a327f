"""The remote for objects as a setting: URLs checked, secrets never repeated, the TOML edit."""

from __future__ import annotations

import sys

import pytest

from minireg.domain.config import DEFAULT_TOML, parse_config
from minireg.domain.remotes import (
    check_remote_url,
    digest_of_key,
    object_key,
    scrub,
    shown,
    with_remote,
)
from minireg.errors import InvalidInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

DIGEST = "ab" + "0123456789abcdef" * 3 + "0123456789abcd"


@pytest.mark.parametrize(
    "url",
    [
        "s3://bucket/models",
        "s3://bucket",
        "gs://bucket/a/b",
        "az://container/models",
        "abfs://container@account.dfs.core.windows.net/models",
        "file:///mnt/shared/models",
    ],
)
def test_a_plain_url_is_accepted(url: str) -> None:
    assert check_remote_url(f"  {url}/ ") == url


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/models", "wJalrXUtnFEMI"),
        ("s3://bucket/models?secret=wJalrXUtnFEMI", "wJalrXUtnFEMI"),
        ("s3://bucket/models?key=AKIAEXAMPLE&x=1", "AKIAEXAMPLE"),
        ("az://container/models?sig=c2VjcmV0&sv=2020", "c2VjcmV0"),
        ("gs://bucket/m?token=ya29.secret", "ya29.secret"),
        ("sftp://user:hunter2@host/models", "hunter2"),
    ],
)
def test_a_url_with_credentials_is_refused_without_repeating_them(url: str, secret: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_remote_url(url)
    assert "credentials" in caught.value.message
    assert secret not in caught.value.message
    assert "AWS_ACCESS_KEY_ID" in caught.value.message


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("bucket/models", "not a URL"),
        ("/mnt/shared", "not a URL"),
        ("file://relative/folder", "absolute path"),
        ("s3:///models", "no bucket"),
        ("s3://bucket/models?versioning=1", "query"),
        ("s3://bucket/mo\ndels", "control character"),
    ],
)
def test_a_url_that_cannot_name_a_remote_is_refused(url: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        check_remote_url(url)


def test_shown_and_scrub_hide_secrets() -> None:
    assert shown("s3://k:s@bucket/p") == "s3://***@bucket/p"
    assert shown("s3://bucket/p?secret=x") == "s3://bucket/p?***"
    assert shown("file:///mnt/x") == "file:///mnt/x"
    text = 'Could not connect to "http://user:pw@10.0.0.1:9000/bucket/key"'
    assert "pw" not in scrub(text, "")
    assert "user" not in scrub(text, "")


def test_object_keys_mirror_the_local_layout() -> None:
    key = object_key(DIGEST)
    assert key == f"sha256/{DIGEST[:2]}/{DIGEST[2:]}"
    assert digest_of_key(f"bucket/models/{key}") == DIGEST
    assert digest_of_key(f"bucket/models/sha256/ab/.tmp-1234-{DIGEST[2:14]}") is None
    assert digest_of_key("bucket/models/other/file") is None


def _remote_of(text: str) -> str:
    return parse_config(tomllib.loads(text)).remote


def test_with_remote_appends_the_table_keeping_every_comment() -> None:
    text = with_remote(DEFAULT_TOML, "s3://acme/churn")
    assert text.startswith(DEFAULT_TOML)
    assert _remote_of(text) == "s3://acme/churn"
    again = with_remote(text, "file:///mnt/shared")
    assert _remote_of(again) == "file:///mnt/shared"
    assert again.splitlines().count("[objects]") == 1
    assert again == text.replace('remote = "s3://acme/churn"', 'remote = "file:///mnt/shared"')


def test_with_remote_fills_an_existing_table_before_the_next_one() -> None:
    text = '[objects]\n# where\n\n[git]\nmain_branch = "main"\n'
    done = with_remote(text, "gs://b/p")
    assert _remote_of(done) == "gs://b/p"
    assert parse_config(tomllib.loads(done)).main_branch == "main"


def test_objects_settings_are_checked() -> None:
    assert parse_config({}).remote == ""
    with pytest.raises(InvalidInput, match="belongs under \\[objects\\]"):
        parse_config({"remote": "s3://b/p"})
    with pytest.raises(InvalidInput, match="unknown setting 'cache'"):
        parse_config({"objects": {"remote": "s3://b/p", "cache": "x"}})
    with pytest.raises(InvalidInput, match="must be a URL"):
        parse_config({"objects": {"remote": 3}})
    with pytest.raises(InvalidInput) as caught:
        parse_config({"objects": {"remote": "s3://id:topsecret@b/p"}})
    assert caught.value.message.startswith("minireg.toml: ")
    assert "topsecret" not in caught.value.message

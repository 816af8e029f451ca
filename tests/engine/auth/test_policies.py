"""Password policies: the rules of `mlps3` and `asvs`, every unmet rule reported at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.auth.passwords import hash_password, hasher_for
from engine.auth.policies import POLICIES, check_new_password, common_passwords, policy_for
from engine.errors import ValidationFailed
from engine.settings import Settings
from tests.databases import FAST_ARGON2

HASHER = hasher_for(Settings(**FAST_ARGON2))


def unmet(policy: str, password: str, username: str | None = "alice") -> list[str]:
    return [rule for rule, _ in POLICIES[policy].unmet_rules(password, username)]


@pytest.mark.parametrize(
    ("password", "rules"),
    [
        ("Tenant-Pass-2026", []),
        ("Ab1!efgh", []),  # exactly 8 characters of 4 classes
        ("Ab1!efg", ["min_length"]),
        ("tenant-pass-2026", ["uppercase"]),
        ("TENANT-PASS-2026", ["lowercase"]),
        ("Tenant-Pass-word", ["digit"]),
        ("TenantPass2026", ["symbol"]),
        ("Tenant Pass 2026", []),  # a space is a symbol
        ("abc", ["min_length", "uppercase", "digit", "symbol"]),
        ("Alice!1", ["min_length"]),
        ("P@ssw0rd", ["common"]),
        ("Password123!", ["common"]),
        ("x" * 129, ["max_length", "uppercase", "digit", "symbol"]),
        ("住房保障Ab1!", []),
    ],
)
def test_mlps3_rules(password: str, rules: list[str]) -> None:
    assert unmet("mlps3", password) == rules


@pytest.mark.parametrize(
    ("password", "rules"),
    [
        ("correct horse battery", []),  # no composition rules
        ("alllowercaseletters", []),
        ("short phrase", []),  # 12 characters
        ("short phras", ["min_length"]),
        ("Ab1!efgh", ["min_length"]),  # enough for mlps3, too short here
        ("password1234", ["common"]),
        ("Qwerty123456", ["common"]),
        ("y" * 128, []),
        ("y" * 129, ["max_length"]),
        ("这是一个很长的中文密码短语啊", []),
    ],
)
def test_asvs_rules(password: str, rules: list[str]) -> None:
    assert unmet("asvs", password) == rules


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_username_is_never_a_password(policy: str) -> None:
    assert "username" in unmet(policy, "Administrator1!", username="administrator1!")


def test_every_unmet_rule_is_a_detail_with_its_code() -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_new_password(POLICIES["mlps3"], HASHER, "abc", "alice", path="new_password")

    assert raised.value.status == 422
    assert [(d["path"], d["rule"]) for d in raised.value.details] == [
        ("new_password", "min_length"),
        ("new_password", "uppercase"),
        ("new_password", "digit"),
        ("new_password", "symbol"),
    ]
    assert raised.value.details[0]["message"] == "must be at least 8 characters long"


def test_mlps3_refuses_the_last_five_passwords_only() -> None:
    old = [f"Tenant-Pass-{year}" for year in range(2020, 2026)]  # six, oldest first
    recent = [hash_password(HASHER, p) for p in reversed(old)]  # newest first

    with pytest.raises(ValidationFailed) as raised:
        check_new_password(POLICIES["mlps3"], HASHER, "Tenant-Pass-2021", "alice", recent)

    assert [d["rule"] for d in raised.value.details] == ["history"]
    assert "last 5 passwords" in raised.value.details[0]["message"]
    check_new_password(POLICIES["mlps3"], HASHER, "Tenant-Pass-2020", "alice", recent)


def test_asvs_refuses_only_the_current_password() -> None:
    recent = [hash_password(HASHER, "the current phrase"), hash_password(HASHER, "an old phrase!")]

    with pytest.raises(ValidationFailed):
        check_new_password(POLICIES["asvs"], HASHER, "the current phrase", "alice", recent)
    check_new_password(POLICIES["asvs"], HASHER, "an old phrase!", "alice", recent)


def test_only_mlps3_passwords_expire() -> None:
    changed = datetime(2026, 1, 1, tzinfo=UTC)

    assert POLICIES["mlps3"].expires_at(changed) == changed + timedelta(days=90)
    assert POLICIES["asvs"].expires_at(changed) is None


def test_the_policy_comes_from_settings() -> None:
    assert policy_for(Settings()).name == "mlps3"
    assert policy_for(Settings(password_policy="asvs")).name == "asvs"
    with pytest.raises(ValueError, match="ANJU_PASSWORD_POLICY"):
        policy_for(Settings(password_policy="lax"))


def test_the_common_list_is_case_folded_and_skips_comments() -> None:
    listed = common_passwords()

    assert "p@ssw0rd" in listed and "password123!" in listed
    assert not any(word.startswith("#") for word in listed)

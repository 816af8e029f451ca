"""The example plugin's hooks: a `mobile_number` field type and an `elderly_priority` check.

In an entity definition:

    fields:
      phone: {type: mobile_number, label: {zh: 联系电话, en: Mobile}}

stores `138 0013-8000`, `+86 13800138000` or `１３８００１３８０００` as `13800138000`,
refuses `12345` with a 422 naming the field, encrypts it at rest and shows `138****8000` to
roles without `unmask`. In a flow:

    params: {elderly_age: 60}
    states:
      assessed:
        on_enter: [{check: elderly_priority, store: priority_report}]

records whether a member of the household is `elderly_age` or older on the day of the check.
The age is a policy number, so it lives in the flow's params; the plugin holds the algorithm.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from engine.extensions import FieldType
from engine.flows.checks import Check, CheckInput, CheckResult
from plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from engine.settings import Settings

# mainland mobile numbers: 11 digits, 1 then 3-9 ([0-9], as `\d` would take any script's digits)
MOBILE = re.compile(r"1[3-9][0-9]{9}")
SEPARATORS = re.compile(r"[\s-]+")
COUNTRY_PREFIXES = ("+86", "0086")

ELDERLY_AGE = 60  # the default of the flow param `elderly_age`
MEMBERS = "public_rental.household_member"  # the default of the flow param `elderly_members`
LINK = "household"  # the members' reference to their household
BIRTH_DATE = "birth_date"  # the members' date of birth


def normalize_mobile(text: str) -> str:
    """The stored form of a mainland mobile number, or `ValueError` saying what is expected.

    >>> normalize_mobile("+86 138-0013-8000")
    '13800138000'
    """
    compact = SEPARATORS.sub("", unicodedata.normalize("NFKC", text))  # full-width digits too
    for prefix in COUNTRY_PREFIXES:
        if compact.startswith(prefix):
            compact = compact[len(prefix) :]
            break
    if not MOBILE.fullmatch(compact):
        # the value itself is personal data: the message does not repeat it
        raise ValueError("不是有效的手机号码：应为 11 位数字，以 1 开头，第二位为 3-9")
    return compact


MOBILE_NUMBER = FieldType(
    "mobile_number",
    max_length=11,
    normalize=normalize_mobile,
    mask="3*4",
    sensitive=True,  # personal information: encrypted at rest, found by its blind index
    description="中国大陆手机号码（11 位，去掉空格、横线和 +86）",
)


def gather_members(given: CheckInput) -> dict[str, Any]:
    """The household's members and their dates of birth, as plain JSON.

    The household is the checked record's `household` reference (an application), or the
    record itself when it has no such field (a flow on the household)."""
    members = str(given.params.get("elderly_members", MEMBERS))
    household = given.record[LINK] if LINK in given.record else given.record.get("id")
    rows = given.related(members, LINK, household) if household is not None else []
    return {
        "household": household,
        "members": [{"member": row["id"], "birth_date": _iso(row.get(BIRTH_DATE))} for row in rows],
    }


def decide_priority(
    inputs: Mapping[str, Any], params: Mapping[str, Any], today: date
) -> CheckResult:
    """Passes either way (no priority is not a refusal); the reasons name the members aged
    `elderly_age` or more on `today`, and are empty when there are none."""
    limit = int(params.get("elderly_age", ELDERLY_AGE))
    reasons = []
    for member in inputs.get("members", []):
        if member.get("birth_date") is None:
            continue
        age = age_on(date.fromisoformat(member["birth_date"]), today)
        if age >= limit:
            reasons.append(
                f"家庭成员 #{member['member']} 年满 {limit} 周岁（{age} 岁），享受老年人优先"
            )
    return CheckResult(passed=True, reasons=reasons, level="green")


def age_on(born: date, today: date) -> int:
    """Whole years since `born`; someone born on 29 February comes of age on 1 March."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


ELDERLY_PRIORITY = Check(
    "elderly_priority",
    gather_members,
    decide_priority,
    version="1",  # change it whenever decide would judge the same inputs differently
    description="老年人优先：家庭中有成员年满 elderly_age（默认 60）周岁",
)


@hookimpl
def anju_field_types(settings: Settings) -> list[FieldType]:
    return [MOBILE_NUMBER]


@hookimpl
def anju_checks(settings: Settings) -> list[Check]:
    return [ELDERLY_PRIORITY]

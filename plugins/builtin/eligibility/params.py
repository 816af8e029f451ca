"""The eligibility check's params: thresholds and switches a flow publishes under `params`.

A flow's params are versioned with its definitions, so a change of policy is a published
definition; the numbers here are only the defaults, taken from the documents (DOMAIN.md,
"Rules with numbers"; §A4 of domain/shanghai-and-rental-platforms.md). Flow params are
scalars, so state lists are written as comma-separated text (`rejected, withdrawn`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# name: (default, meaning). `marriage_rule` has no single default: it is the product's.
DEFAULTS: dict[str, tuple[bool | int | str, str]] = {
    "product": ("public_rental", "whose rules apply: public_rental (公租房) or low_rent (廉租房)"),
    "economic_rule": (True, "judge per-capita income and assets (经济状况准入)"),
    "income_limit_large": (39_600, "per-capita annual disposable income, large households (CNY)"),
    "assets_limit_large": (120_000, "per-capita assets, large households (CNY)"),
    "income_limit_small": (43_560, "per-capita annual disposable income, small households"),
    "assets_limit_small": (132_000, "per-capita assets, small households (CNY)"),
    "large_household": (3, "persons from which the large-household lines apply"),
    "illness_poor_field": (
        "",
        "household boolean field of a certified illness-spending-poor "
        "household (因病支出型贫困), judged by the small-household lines",
    ),
    "married_min_months": (12, "married fewer months than this at the application month blocks"),
    "divorced_min_months": (36, "divorced fewer months than this blocks"),
    "allowance_full_year_months": (13, "monthly 低保 payments that count as a full year"),
    "allowance_waives_economic": (True, "a full 低保 year waives the economic check (L548-549)"),
    "case_closed_states": ("rejected, withdrawn", "application states of closed cases"),
    "case_unsubmitted_states": ("draft", "application states of cases never submitted"),
    "case_qualified_states": ("qualified", "states of cases that hold a qualification"),
    "lease_active_statuses": ("pending_approval, active", "lease statuses of a sitting tenant"),
}


@dataclass(frozen=True)
class Product:
    """What a product changes: its name in reasons and whether the marriage rule applies by
    default (the documents apply it to low-rent and shared-ownership housing, §A4)."""

    label: str
    marriage_rule: bool


PRODUCTS: dict[str, Product] = {
    "public_rental": Product("公租房", marriage_rule=False),
    "low_rent": Product("廉租房", marriage_rule=True),
}


@dataclass(frozen=True)
class Rules:
    """The params resolved against their defaults, typed for the rules."""

    product: Product
    economic_rule: bool
    income_limit_large: Decimal
    assets_limit_large: Decimal
    income_limit_small: Decimal
    assets_limit_small: Decimal
    large_household: int
    marriage_rule: bool
    married_min_months: int
    divorced_min_months: int
    allowance_full_year_months: int
    allowance_waives_economic: bool
    case_closed_states: frozenset[str]
    case_unsubmitted_states: frozenset[str]
    case_qualified_states: frozenset[str]
    lease_active_statuses: frozenset[str]

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Rules:
        """The rules a flow's params give; unknown names are other checks' and are ignored."""

        def value(name: str) -> Any:
            return params.get(name, DEFAULTS[name][0])

        product_name = str(value("product"))
        product = PRODUCTS.get(product_name)
        if product is None:
            raise ValueError(f"params.product {product_name!r} is not one of {sorted(PRODUCTS)}")
        return cls(
            product=product,
            economic_rule=bool(value("economic_rule")),
            income_limit_large=_money(value("income_limit_large")),
            assets_limit_large=_money(value("assets_limit_large")),
            income_limit_small=_money(value("income_limit_small")),
            assets_limit_small=_money(value("assets_limit_small")),
            large_household=int(value("large_household")),
            marriage_rule=bool(params.get("marriage_rule", product.marriage_rule)),
            married_min_months=int(value("married_min_months")),
            divorced_min_months=int(value("divorced_min_months")),
            allowance_full_year_months=int(value("allowance_full_year_months")),
            allowance_waives_economic=bool(value("allowance_waives_economic")),
            case_closed_states=_names(value("case_closed_states")),
            case_unsubmitted_states=_names(value("case_unsubmitted_states")),
            case_qualified_states=_names(value("case_qualified_states")),
            lease_active_statuses=_names(value("lease_active_statuses")),
        )


def _money(value: Any) -> Decimal:
    """A limit in CNY: an integer, or text such as "39600.50" (params hold no decimals)."""
    return Decimal(str(value))


def _names(value: Any) -> frozenset[str]:
    """`"rejected, withdrawn"` (or a list, given from Python) as a set of names."""
    parts = value.split(",") if isinstance(value, str) else value
    return frozenset(str(part).strip() for part in parts if str(part).strip())

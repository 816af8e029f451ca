"""Verifiable lottery draws: seed hash and frozen participants before, seed and result after.

A lottery round (`public_rental.lottery_round`, flow `flows/lottery_round.yaml`) commits to
a secret random seed when it is published — its SHA-256 and the frozen participant list with
its digest are public from then on — and reveals the seed with the result when it is drawn,
so anyone can re-run the draw and check that nobody chose the outcome (DOMAIN.md, "Lottery":
fully random, reproducible from a published seed, no human influence; priority groups drawn
first; "choose 1 of 2 / 1 of 3"). `draw.py` is the algorithm, exactly; `rounds.py` and
`contracts.py` the flow actions; `routes.py` the public page and the verifier:

    lottery_round:  draft ─publish─▶ published ─draw─▶ drawn ─close─▶ closed
                    {call: lottery.publish}  {call: lottery.draw}  {call: lottery.close}
    allocation:     offered ─accept─▶ accepted
                            ─give_up─▶ given_up {call: lottery.pass_on}

    GET  /public/lottery/{round_id}       anyone: commitments, then seed and result
    POST /api/plugins/lottery/verify      re-run a draw and say whether it matches
"""

from __future__ import annotations

from typing import Any

from engine.extensions import FlowAction
from engine.settings import Settings
from plugins.builtin.lottery import contracts, rounds, routes
from plugins.hookspecs import hookimpl


@hookimpl
def anju_flow_actions(settings: Settings) -> list[FlowAction]:
    return [
        FlowAction(
            "lottery.publish",
            rounds.publish,
            "Freezes participants and units, reserves the units, commits to a sealed seed",
        ),
        FlowAction(
            "lottery.draw",
            rounds.run_draw,
            "Draws from the sealed seed, reveals it, offers the units in sequence order",
        ),
        FlowAction(
            "lottery.pass_on",
            rounds.pass_on,
            "Offers a given-up unit to the next in sequence",
        ),
        FlowAction(
            "lottery.cancel",
            rounds.cancel,
            "Releases a cancelled round's units and reveals its unused seed",
        ),
        FlowAction(
            "lottery.close",
            contracts.close,
            "Turns accepted offers into lease contracts and settles the round",
        ),
    ]


@hookimpl
def anju_routes(settings: Settings) -> list[Any]:
    return routes.routes()

"""(being built)"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from renderers.html import login

ROUTES: list[BaseRoute] = [Route("/", login.home, methods=["GET"])]

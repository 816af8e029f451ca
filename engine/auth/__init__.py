"""Identity and authentication: organisations, users, roles, passwords, tokens and sessions.

The HTTP layer (`renderers/authentication.py`) turns credentials into a `Principal` through
this package; nothing here knows about requests.
"""

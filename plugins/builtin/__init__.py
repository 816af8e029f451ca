"""Built-in plugins shipped with Anju, written against the same hooks as third-party ones.

Importing the package (the default `ANJU_PLUGINS`) registers the built-in flow checks."""

from plugins.builtin import prh_checks  # noqa: F401  (registers the pre_review check)

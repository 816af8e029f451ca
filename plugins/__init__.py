"""Anju plugins: hook specifications and the built-in plugins that use them."""

"""The JSON API of the public contract."""

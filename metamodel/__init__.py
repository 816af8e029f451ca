"""Definitions of Anju apps: models, loading, checks, canonical form, diff and the versioned store."""

"""Definitions of Anju apps: models, loader, checks, canonical form, diff, versioned store."""

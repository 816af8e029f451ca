"""Alembic revision chain for Anju's own system tables (entity tables migrate on publish)."""

"""Aduan web application: one package per domain area (see README, "Architecture")."""

"""Database: Piccolo tables, committed migrations, engine choice and city seed data."""

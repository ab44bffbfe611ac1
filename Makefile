# Thin aliases over scripts/ (the README's two commands work without make).
.PHONY: help run test lint format i18n migrate setup clean

help:  ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

run:  ## install, set up var/ and serve on :8000 (scripts/run)
	scripts/run

test:  ## lint + types + whole suite on SQLite and PostgreSQL (scripts/test)
	scripts/test

lint:  ## ruff check and format check, mypy
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

format:  ## apply ruff's fixes and formatting
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

i18n:  ## add new UI strings to the English catalogue
	.venv/bin/python scripts/i18n.py

migrate:  ## apply database migrations
	.venv/bin/python -m web.manage migrate

setup:  ## migrations + city data + demo accounts
	.venv/bin/python -m web.manage setup

clean:  ## remove var/ (local database and photos)
	rm -rf var/

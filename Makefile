# The two entry points are `make run` and `make test`; everything they need is installed here.
.PHONY: run test lint format bootstrap benchmark

run:
	scripts/run.sh

bootstrap:
	scripts/bootstrap.sh test

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	node_modules/.bin/eslint static/js
	node_modules/.bin/prettier --check static/js

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest $(PYTEST_ARGS)

format: bootstrap
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
	node_modules/.bin/prettier --write static/js
	node_modules/.bin/eslint --fix static/js

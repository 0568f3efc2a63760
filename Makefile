# The two commands of the README.
.PHONY: demo test

demo:  ## set up, load the demo site, serve the admin and portal with the worker at http://127.0.0.1:8000
	scripts/bootstrap
	.venv/bin/membersync demo

test:  ## lint, then the whole test suite on SQLite and on PostgreSQL
	scripts/test

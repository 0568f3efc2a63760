# The two commands of the README.
.PHONY: demo test companion-zip

demo:  ## set up, load the demo site, serve the admin and portal with the worker at http://127.0.0.1:8000
	scripts/bootstrap
	.venv/bin/membersync demo

test:  ## lint, then the whole test suite on SQLite and on PostgreSQL
	scripts/test

companion-zip:  ## build dist/membersync-companion.zip, the WordPress companion plugin to upload to a LearnDash site
	scripts/wordpress-zip

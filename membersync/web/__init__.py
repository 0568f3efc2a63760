"""The production web server: MemberSync's pages, webhooks and API behind gunicorn."""

"""The REST API at /api/v1/ (Django Ninja, OpenAPI 3.1): thin handlers over the same services as the admin, the
portal and the webhooks. Keys and their scopes: keys.py; one error shape: errors.py; one router per area: routers/."""

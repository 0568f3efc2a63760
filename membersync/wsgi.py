import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membersync.settings")

# Every web server loads this module: refuse to serve with DEBUG off and no SECRET_KEY (membersync/deploy.py).
from membersync.deploy import refuse_insecure_start  # noqa: E402

refuse_insecure_start()
application = get_wsgi_application()

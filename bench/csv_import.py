"""How long the portal's CSV import takes for 10,000 people (target: under 20 s).

Runs on a fresh temporary SQLite database unless DATABASE_URL is set (then on that PostgreSQL database,
which must be empty or disposable). Usage: .venv/bin/python bench/csv_import.py [people]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membersync.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["MEMBERSYNC_SQLITE_PATH"] = os.path.join(tempfile.mkdtemp(prefix="ms-bench-"), "bench.sqlite3")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")

    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    from tests.browser.orgdata import PASSWORD, org_with_people

    org = org_with_people("bench", name="Bench Org", seats=10)
    lines = ["email,first_name,last_name,role"]
    lines += [f"person{n}@example.com,Person,{n},{'manager' if n % 50 == 0 else 'member'}" for n in range(people)]
    lines += ["not-an-email,Bad,Row,member", "person1@example.com,Dup,Row,member", "x@example.com,Odd,Role,wizard"]
    data = ("\n".join(lines) + "\n").encode()

    client = Client()
    assert client.login(username=org.manager.email, password=PASSWORD)
    started = time.perf_counter()
    response = client.post(
        reverse("portal:org_import", kwargs={"org_id": "bench"}),
        {"file": SimpleUploadedFile("people.csv", data, content_type="text/csv")},
    )
    elapsed = time.perf_counter() - started
    from django.core import mail

    from membersync.orgs.models import Invitation

    assert response.status_code == 200, response.status_code
    invited = Invitation.objects.filter(organization__external_id="bench").count()
    print(
        f"CSV import of {people:,} people (+3 bad rows) through the portal page: {elapsed:.2f} s; "
        f"{invited:,} invitations created, {len(mail.outbox):,} emails sent "
        f"({'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'})"
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()

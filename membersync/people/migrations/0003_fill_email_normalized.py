# Fill Member.email_normalized for the members that existed before it (people 0002 added it empty). Set-based:
# one UPDATE per distinct address form, in batches, never one save per member.

from django.db import migrations
from django.db.models.functions import Lower, Trim


def fill(apps, schema_editor):
    Member = apps.get_model("people", "Member")
    db = schema_editor.connection.alias
    # TRIM strips spaces only; Python's str.strip (what save() uses) strips any whitespace: fix the rare rest below.
    Member.objects.using(db).exclude(email="").update(email_normalized=Lower(Trim("email")))
    rest = []
    for pk, email, normalized in Member.objects.using(db).exclude(email="").values_list(
        "pk", "email", "email_normalized"
    ).iterator(chunk_size=5000):
        wanted = email.strip().lower()
        if normalized != wanted:
            rest.append(Member(pk=pk, email_normalized=wanted))
    Member.objects.using(db).bulk_update(rest, ["email_normalized"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("people", "0002_connections_identities_email_normalized"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]

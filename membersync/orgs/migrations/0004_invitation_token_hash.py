"""Invitations keep only the SHA-256 of their token; the tokens of links already sent are hashed in place, so those
links keep working. Reversing keeps the hashes (the tokens cannot be recovered): links sent before stop working."""

import hashlib

from django.db import migrations


def hash_tokens(apps, schema_editor):
    Invitation = apps.get_model("orgs", "Invitation")
    for pk, token in Invitation.objects.values_list("pk", "token_hash").iterator():
        Invitation.objects.filter(pk=pk).update(token_hash=hashlib.sha256(token.encode()).hexdigest())


class Migration(migrations.Migration):
    dependencies = [("orgs", "0003_member_moves_to_people")]

    operations = [
        migrations.RenameField("invitation", "token", "token_hash"),
        migrations.RunPython(hash_tokens, migrations.RunPython.noop),
    ]

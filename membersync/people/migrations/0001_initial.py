# Member moves from the members app to people. The table stays where it is (members_member): only Django's
# idea of which app owns the model changes, so no row moves and every foreign key keeps pointing at it.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("members", "0004_order_buys_licenses"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Member",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("external_id", models.CharField(help_text="WordPress user id (or a name of yours)", max_length=64, unique=True)),
                        ("email", models.EmailField(blank=True, db_index=True, max_length=254)),
                        ("name", models.CharField(blank=True, max_length=200)),
                        ("created_at", models.DateTimeField()),
                        ("user", models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="member", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "members_member"},
                ),
            ],
            database_operations=[],
        ),
    ]

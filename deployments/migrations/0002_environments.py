from django.db import migrations

from deployments.apps import ensure_environments


def create_environments(apps, schema_editor):
    ensure_environments(environment_model=apps.get_model("deployments", "Environment"))


class Migration(migrations.Migration):
    dependencies = [("deployments", "0001_initial")]

    operations = [migrations.RunPython(create_environments, migrations.RunPython.noop)]

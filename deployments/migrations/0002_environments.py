from django.db import migrations


def create_environments(apps, schema_editor):
    Environment = apps.get_model("deployments", "Environment")
    Environment.objects.get_or_create(name="staging", defaults={"label": "Staging (test accounts)", "order": 1})
    Environment.objects.get_or_create(name="production", defaults={"label": "Production (everyone)", "order": 2})


class Migration(migrations.Migration):
    dependencies = [("deployments", "0001_initial")]

    operations = [migrations.RunPython(create_environments, migrations.RunPython.noop)]

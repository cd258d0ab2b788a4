from django.db import migrations

from apps.models_registry.seed import LOCAL_MODELS, seed_local_models


def seed(apps, schema_editor):
    seed_local_models(apps.get_model("models_registry", "Model"))


def unseed(apps, schema_editor):
    apps.get_model("models_registry", "Model").objects.filter(id__in=[m["id"] for m in LOCAL_MODELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("models_registry", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]

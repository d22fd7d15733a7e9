"""The export layout of single RCM fields of view: a 1000x1000 image with a caption strip below."""

from django.db import migrations

PROFILES = [
    {
        "code": "rcm-single-field-caption",
        "name": "RCM single field of view, 1000x1000 with a caption strip below",
        "source_width": 1000, "source_min_height": 1001, "source_max_height": 1200,
        "crop_x": 0, "crop_y": 0, "crop_width": 1000, "crop_height": 1000,
    },
]


def add(apps, schema_editor):
    DeviceProfile = apps.get_model("imaging", "DeviceProfile")
    for profile in PROFILES:
        DeviceProfile.objects.update_or_create(code=profile["code"], defaults=profile)


def remove(apps, schema_editor):
    apps.get_model("imaging", "DeviceProfile").objects.filter(code__in=[p["code"] for p in PROFILES]).delete()


class Migration(migrations.Migration):
    dependencies = [("imaging", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]

"""Any change to the registry reloads every process's catalog on its next request."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .catalog import bump_generation
from .models import Model


@receiver(post_save, sender=Model)
@receiver(post_delete, sender=Model)
def invalidate_catalog(**kwargs: Any) -> None:
    transaction.on_commit(bump_generation)  # after commit, as for tokens (customers/signals.py)

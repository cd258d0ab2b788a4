"""Any change to who may call, or how fast, invalidates the token caches of every process."""

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import ApiToken, Customer
from .token_cache import bump_generation


@receiver(post_save, sender=Customer)
@receiver(post_delete, sender=Customer)
@receiver(post_save, sender=ApiToken)
@receiver(post_delete, sender=ApiToken)
@receiver(m2m_changed, sender=ApiToken.allowed_models.through)
def invalidate_token_cache(**kwargs: Any) -> None:
    # After commit: a worker re-reading the token between the bump and the commit would cache
    # the old values under the new generation until the next change.
    transaction.on_commit(bump_generation)

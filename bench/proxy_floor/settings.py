"""The settings the pipeline targets run with (same apps, same stores), with a urlconf of one async view."""

from inference_platform.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.proxy_floor.urls"

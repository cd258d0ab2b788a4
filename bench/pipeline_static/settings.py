"""The settings the pipeline targets run with, with a urlconf of one in-memory pipeline viewset."""

from inference_platform.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.pipeline_static.urls"

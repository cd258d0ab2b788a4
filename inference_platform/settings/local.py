"""`make run`: the embedded default on one machine."""

from .base import *  # noqa: F403

DEBUG = True

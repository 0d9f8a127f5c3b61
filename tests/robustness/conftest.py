"""Hypothesis profiles: the test command draws the same cases every run, so a CI result does
not depend on the luck of the draw; ``HYPOTHESIS_PROFILE=explore`` draws new cases each run
to look for new bad inputs, as the mutation habit looks for weak tests."""

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

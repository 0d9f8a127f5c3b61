"""``bench compare``: match two sets of run records by spec and judge every difference.

``matching`` loads and pairs the runs, ``speed`` tests step times, ``rules`` says what
counts, ``build`` assembles a :class:`model.Comparison`; ``text``, ``terminal`` and
``markdown`` present it.
"""

from harness.compare.build import compare
from harness.compare.model import Comparison
from harness.compare.rules import Rules

__all__ = ["Comparison", "Rules", "compare"]

"""Classification: config traits -> template family, through a graph declared as data.

Public API: :func:`classify_all`, :func:`classify` and the records
:class:`Classification`, :class:`Trait`, :class:`Rival`.
"""

from hfscan.classifiers.classify import classify, classify_all
from hfscan.classifiers.records import CATEGORIES, Classification, Rival, Trait

__all__ = ["CATEGORIES", "Classification", "Rival", "Trait", "classify", "classify_all"]

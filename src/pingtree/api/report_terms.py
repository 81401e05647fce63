"""The words of the reports (periods, buckets, dimensions) for the pages, which never import
``store/``: the same objects as ``store.reports``'."""

from __future__ import annotations

from pingtree.store.reports import DIMENSIONS, Bucket, Dimension, Period, period_bounds

__all__ = ["DIMENSIONS", "Bucket", "Dimension", "Period", "period_bounds"]

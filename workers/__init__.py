"""Celery workers: apply queued reports, recompute engagement and ranks."""

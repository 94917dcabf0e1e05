"""Daily progress rules, storage and tools, free of HTTP and Celery."""

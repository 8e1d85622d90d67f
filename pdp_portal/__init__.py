import os

# A worker runs one partition of a simulation after another, each allocating a few hundred MB in
# polars, whose allocator (jemalloc) hands freed memory back to the system after about a second
# idle: the first task after a pause then paid to fault it all back in (about 0.08 s for a partition
# of 2,000,000 rows, more with two workers at once). Freed memory is handed back over 30 s instead. jemalloc reads this once polars first allocates, so it is set
# before anything imports polars; a value in the environment wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:30000,muzzy_decay_ms:30000")

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)

"""Work a process must finish before it exits, however its server ends it."""

import atexit
import multiprocessing.util
import threading
from collections.abc import Callable


def at_exit(callback: Callable[[], object]) -> None:
    """Run `callback` once when this process exits normally: at interpreter exit, and also when it is a
    worker process started by multiprocessing (the web server's workers), which leaves through os._exit
    and so skips atexit, but runs multiprocessing's finalizers first."""
    lock, done = threading.Lock(), list[bool]()

    def once() -> None:
        with lock:
            if done:
                return
            done.append(True)
        callback()

    atexit.register(once)
    multiprocessing.util.Finalize(None, once, exitpriority=10)

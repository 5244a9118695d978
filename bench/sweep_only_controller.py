"""``course-controller`` without the event fast path: a finished pod is noticed by the next
periodic sweep only (slot-to-start benchmark, the "sweep only" case)."""

from controller.cli import main
from controller.sweep import Sweeper


def _no_wake(self: Sweeper) -> None:
    return None


Sweeper.wake = _no_wake  # type: ignore[method-assign]

if __name__ == "__main__":
    main()

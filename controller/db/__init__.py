"""The queue: the only package that talks to the database."""

from controller.db.queue import ClaimLimits, CourseDefaults, Queue, SyncResult

__all__ = ["ClaimLimits", "CourseDefaults", "Queue", "SyncResult"]

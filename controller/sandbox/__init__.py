"""An emulated Kubernetes API server with a local pod runner, for tests and the demo."""

from controller.sandbox.sandbox import Sandbox

__all__ = ["Sandbox"]

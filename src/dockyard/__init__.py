"""Dockyard: from a Python model class to a production container deployment."""

from dockyard.runtime.contract import Model

__all__ = ["Model", "__version__"]
__version__ = "0.1.0"

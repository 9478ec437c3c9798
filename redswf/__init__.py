"""redswf: the Amazon Simple Workflow Service model on Redis."""

from .client import AsyncClient, Client
from .errors import SWFError
from .service import Service, Settings

__all__ = ["AsyncClient", "Client", "SWFError", "Service", "Settings"]
__version__ = "0.1.0"

"""Visibility, pending-task counts and domain tags: the query side of the SWF API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import Service


class VisibilityOperations:
    """Operation handlers ``op_<snake name>(context, request)`` for the query operations."""

    def __init__(self, service: Service) -> None:
        self.service = service

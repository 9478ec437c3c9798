"""Operator commands of the ``redswf`` command line."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the operator commands to the ``redswf`` command group."""

"""Benchmarks of redswf against a Redis floor, moto's SWF mock and arq.

Run them all with ``python -m benchmarks`` (see benchmarks/README.md). This package must
import nothing at the top level: the arq child process runs ``benchmarks.arq_child`` in a
virtualenv of its own that has neither redswf nor its dependencies.
"""

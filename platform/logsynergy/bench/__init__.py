"""Benchmarks of the core library (quality and speed), run by `make bench`."""

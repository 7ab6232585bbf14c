"""Tests of the benchmark harness in bench/ (behaviour only, never timings)."""

"""Performance-related correctness: the batch API, copy slots, bounded resources, the polling schedule.

Nothing here asserts on wall-clock time; speed is measured by ``python benchmarks/run.py``.
"""

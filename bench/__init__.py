"""passbox benchmarks, run by hand (``bench/run``), never as timed tests.

``python -m bench`` compares passbox (memory, SQLite, PostgreSQL stores) with a bare Starlette floor and
Stoplight Prism under the same wrk loads; ``python -m bench retention`` checks memory under many creates
and latency under a sustained load. ``bench/reset.py`` times an in-process reset. See bench/README.md.
"""

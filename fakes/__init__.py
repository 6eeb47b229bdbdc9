"""Fake Bot API and Zalo OA servers on 127.0.0.1, for tests, benchmarks and `loa demo`.

Not part of the installed product: a production `pip install .` leaves this package out, so the
demo runs from a checkout (`python3 dev.py demo`).
"""

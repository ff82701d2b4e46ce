"""Runnable examples included in the documentation.

Each module is type-checked (``mypy --strict``) and run against the emulated
two-account AWS by ``tests/examples``, so the docs cannot drift from the code.
Functions that talk to AWS take their :class:`~rdsshare.AccountSession` objects
as parameters; the ``__main__`` blocks show real use.
"""

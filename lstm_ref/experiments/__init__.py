"""The experiments behind the chapters' figures and claims, one module per topic.

A chapter calls these during the website build, and ``tests/test_claims_*.py`` call the
same functions with the same seeds and assert what the chapter says, so the prose and
the measurements cannot drift apart.
"""

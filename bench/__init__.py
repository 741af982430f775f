"""`make bench`: Cohort's heavy operations at a million contacts, beside raw SQL.

Not a test: it measures. Each operation runs Cohort's own code path and a
hand-written SQL statement doing the same work on the same data (the lower
bound), several times each, and reports the medians and their ratio. See
bench/__main__.py for the command line and README.md for the last results.
"""

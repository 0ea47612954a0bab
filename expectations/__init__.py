"""Great Expectations suites as JSON files, one per suite, named like the suite."""

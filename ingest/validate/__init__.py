"""Validate: Great Expectations suites and the rule table of contract §3, and the reports."""

"""Tests of the search: config, evaluation interface, session and loop, parallel backends, resume."""

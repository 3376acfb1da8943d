"""Tests of the search: config, evaluation interface, runner, parallel backends, resume."""

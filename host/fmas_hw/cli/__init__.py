"""The ``fmas-hw`` command line (one module per command, see :mod:`fmas_hw.cli.main`)."""

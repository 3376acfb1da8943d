"""fmas-hw tests (a package so that helper modules import in worker processes)."""

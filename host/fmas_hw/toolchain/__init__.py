"""The GAP SDK as a tool: where it is and what it has, running its commands with their output
kept, and building a generated project with ``make``. Knows nothing of targets or measurements.
"""

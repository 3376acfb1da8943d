"""Reports of a search store: the paper's tables, Pareto-front and hypervolume plots, proxy
fidelity and search cost (SPEC §7, what ``fmas-hw report`` writes).

Python API::

    from fmas_hw.report import write_report
    files = write_report("runs/search.sqlite", formats="md,csv,html")
    files.markdown, files.csv["candidates"], files.plots["front-flops"]["png"], files.summary

Modules: ``source`` (read the store), ``tables`` (rows and their Markdown / CSV / HTML forms),
``fidelity`` (proxy vs fine-tuned error, subset vs full set over the front, Kendall τ), ``accounting`` (counts and device time),
``plots`` (matplotlib figures), ``document`` (sections -> Markdown / HTML) and ``writer``.
"""

from .fidelity import Fidelity, FrontFidelity, front_fidelity, kendall_tau, proxy_fidelity
from .source import SearchData, load
from .writer import FORMATS, ReportError, ReportFiles, default_out_dir, parse_formats, write_report

__all__ = [
    "write_report", "ReportFiles", "ReportError", "FORMATS", "parse_formats", "default_out_dir",
    "load", "SearchData", "Fidelity", "proxy_fidelity", "FrontFidelity", "front_fidelity", "kendall_tau",
]

"""The study's note (Markdown, shown on optuna-dashboard's study page): what the study mirrors,
how candidates map to trials, and the link to the report's page where the dashboard serves one.
"""

from __future__ import annotations

from .source import Search
from .trials import metric_names


def study_note(search: Search, report: str | None) -> str:
    """The note of the study mirrored from ``search``.

    Args:
        search: the search as read from its store.
        report: the path the dashboard serves the report's page at (None: not served, e.g. an
            exported study file).
    """
    c = search.config
    lines = [
        f"## fmas-hw search `{search.path.name}`",
        "",
        f"Backbone {search.backbone}, objectives {' + '.join(metric_names(search.objectives))} (all minimised), "
        f"target {search.target}, population {c.get('population')}, seed {c.get('seed')}: "
        f"{search.generations} of {c.get('generations')} generation(s) written.",
        "",
    ]
    if report is not None:
        lines += [f"**[The search's report]({report})**: the Pareto front of every generation, the hypervolume "
                  "per generation, the search cost; rewritten after every generation.", ""]
    else:
        lines += ["The report (front and hypervolume per generation): `fmas-hw report --store "
                  f"{search.path}`, or `fmas-hw dashboard --store {search.path}` to serve it next to this study.",
                  ""]
    lines += [
        "One trial per evaluated candidate: its genes are the parameters; a candidate over a budget is "
        "infeasible (a positive constraint), a failed one FAIL, one rejected before evaluation PRUNED, with "
        "the reason; the user attributes hold the genome, the generation that first asked for it, FLOPs, "
        "parameters, cycles and where they come from (estimated or measured, by which target) and the GAP8 "
        "memory verdict. The study is a read-only mirror of the store: edits here are not written back.",
    ]
    return "\n".join(lines)

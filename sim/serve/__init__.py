"""``innosim serve``: the live planner page (Panel), for a browser or inside JupyterLab.

``planner.py`` computes without a page (sliders from the scenario and the model, each move's
ensemble on common random numbers, the difference from the scenario as loaded, the scenario
file of a state); ``page.py`` is the Panel page over it (sliders, language switch, target
table, fan chart, "Save as scenario") and the server. Panel and Bokeh are imported only in this
package, and only the command line imports it.

In a notebook::

    from sim.serve import planner_page
    planner_page("scenarios/baseline.yaml", draws=500, lang="en")  # shows the page inline
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.serve.page import PlannerPage


def planner_page(*args: Any, **kwargs: Any) -> PlannerPage:
    """The planner page of a scenario (``sim.serve.page.planner_page``; Panel is imported on
    the first call, not with this package)."""
    from sim.serve.page import planner_page as build

    return build(*args, **kwargs)

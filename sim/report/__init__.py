"""What people read and what is written: figures and HTML pages in Chinese or English.

``figures`` (fan charts, PNG), ``fonts`` (CJK fonts for figures), ``html`` (page rendering;
templates in ``templates/*.j2``, one base layout), ``i18n`` (the one translation catalogue,
``translations/*.yaml``), ``console`` (terminal tables), one ``*_outputs``/``*_charts`` module
per command's content (``run_outputs``, ``policy_outputs``, ``sensitivity_charts``,
``prim_charts``, ``calibration_outputs``, ``assessment_outputs``, ``backtest_outputs``),
``track_record`` (the backtest beside a run) and ``writer`` (the one output writer: staged,
atomic, provenance).
"""

from sim.report.figures import fan_chart, figure_png
from sim.report.html import render_report

__all__ = ["fan_chart", "figure_png", "render_report"]

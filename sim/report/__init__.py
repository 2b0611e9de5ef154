"""Figures and reports of ensemble results, in Chinese or English."""

from sim.report.figures import fan_chart, figure_png
from sim.report.html import render_report

__all__ = ["fan_chart", "figure_png", "render_report"]

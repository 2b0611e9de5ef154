"""innosim: system-dynamics planning of a city's innovation ecosystem.

The package follows the steps of every command, sample → simulate → analyse → report:

* ``sim.scenario``: the inputs a person writes (scenario YAML, observed CSVs, posterior files),
  validated with file, line and field in every error; lever ranges (``sim.scenario.levers``).
* ``sim.sampling``: draws of the uncertainties and paths (pure functions).
* ``sim.engine``: the vectorised simulator generated from the ``.mdl``, the one runner
  (``sim.engine.runner``: chunks, common random numbers, executors) and the ensemble
  (``sim.engine.ensemble``: scenario → inputs → runner → labelled xarray Dataset).
* ``sim.analysis``: pure algorithms on results (probabilities and intervals, threshold search,
  importance weighting, sequential Monte Carlo, sensitivity indices, PRIM, forecast scores);
  they never import the runner.
* ``sim.report``: figures, HTML pages (``templates/*.j2``), the translation catalogue
  (``translations/*.yaml``) and the one output writer (``sim.report.writer``).
* ``sim.workflows``: one module per command, the orchestration of those steps.
* ``sim.cli``: the ``innosim`` command line (flags in, text out), over the workflows.
* ``sim.vensim``: the only part that reads Vensim files and runs PySD (model catalogue,
  units check, sketch, variable table).
* ``sim.errors``, ``sim.paths``, ``sim.atomic``, ``sim.results``, ``sim.provenance``: the error
  hierarchy, where files are found, atomic writes, the layout of results, provenance records.
"""

__version__ = "0.1.0"

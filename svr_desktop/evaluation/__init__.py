"""Evaluation: run test views through the reconstructor and score them (DESIGN.md section 3).

* :mod:`.views` -- the inputs: stored data-set views, or meshes rendered like
  a data set, each with its ground truth in the view frame;
* :mod:`.runner` -- one view through the reconstructor and the metrics;
* :mod:`.report` -- ``metrics.csv``, ``summary.md``, ``summary.json``, the
  printed table and JSON line;
* :mod:`.figures` -- picture grids of inputs, predictions and ground truth;
* :mod:`.evaluate` -- the whole evaluation of one checkpoint into a folder;
* :mod:`.ablation` and :mod:`.ablation_report` -- training and evaluating the
  paper's ablation variants on equal budgets, and the ablation page.

Nothing here imports Qt; the ``evaluate`` command and
``benchmarks/ablation.py`` are thin fronts on it.
"""

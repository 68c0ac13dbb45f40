"""`yolo-compose sweep`: one module at every placement of a base, each variant built and measured.

The pipeline, in the order it runs:

- :mod:`.plan` (torch-free): read the base once, choose the placements, compose every variant;
- :mod:`.measure` (the bridge side, torch): build each as ``insert`` does and measure it;
- :mod:`.pipeline`: run the measurement, write the YAMLs (the CLI writes the results files);
- :mod:`.results`: the rows and their schema (results.json, results.csv), which a training step
  updates in place (:meth:`.results.SweepResults.update_row`; ``render.sweep.write_results`` saves them);
- :mod:`.train` (``--train``): the base and every variant trained, one fresh process per run
  (:mod:`.child_process`), resumable (:mod:`.ledger`); :mod:`.jobs` is what a run is and what came
  of it; :mod:`.executors` runs them here or on a Ray cluster.

Importing this package imports nothing heavy.
"""

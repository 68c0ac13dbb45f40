"""Pipelines: a command's steps when they are more than one library call.

A pipeline runs the steps of one verb in their order and returns what they made; it prints
nothing and imports neither the renderers nor the command line (the CLI parses the options,
calls one pipeline function and hands its outcome to a renderer).

- :mod:`.edit`: ``insert``, ``remove``, ``replace`` and ``apply``: the edit, the output checked,
  the checkpoint checked, the build and its summary, the weights carried, the provenance line,
  and the YAML (and checkpoint) written, both or neither.
- :mod:`yolo_compose.sweep` (a package of its own): plan, measure, write, train.

Importing this package imports nothing heavy; the build and the weights are imported by the
steps that need them, so an edit without a build and without weights never imports torch.
"""

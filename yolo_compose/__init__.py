"""yolo-compose: insert attention modules into Ultralytics YOLO model YAMLs.

``import yolo_compose`` is all a training script needs: ultralytics then builds our modules from a
composed YAML (see :mod:`yolo_compose.integration`). The import itself loads neither torch nor
ultralytics; registration happens as soon as ultralytics' model code is imported.
"""

from __future__ import annotations

from .integration import activate as _activate

__version__ = "0.1.0"

_activate()

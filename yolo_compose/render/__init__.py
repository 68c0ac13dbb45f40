"""Renderers: each command's result dataclass goes to a Rich renderer or a JSON renderer.

Shared pieces live in :mod:`yolo_compose.render.console`; one module per command
(``insert``, ``diff``, ``validate``, ``modules``) holds that command's renderers.
"""

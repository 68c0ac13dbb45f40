"""Rules about a model YAML's values that more than one command applies: one owner each.

- :func:`is_safe_activation`: whether ultralytics' restricted mode would build an ``activation:``
  without ``eval()`` (``validate`` reports the rest as YC040; the build refuses them).
"""

from __future__ import annotations

import ast
import re

_ACTIVATION_CLASS = re.compile(r"^(torch\.)?nn\.[A-Za-z_][A-Za-z0-9_]*$")


def is_safe_activation(source: str) -> bool:
    """True for ``nn.Name(...)``/``torch.nn.Name(...)`` with literal arguments only.

    The same shape ultralytics' restricted mode (``_SafeLoad.activation``) accepts:
    ``nn.LeakyReLU(-0.1)`` is safe (``-0.1`` is a literal), ``nn.foo.Bar()`` is not a torch.nn
    class, and any call or name in the arguments is refused.
    """
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return False
    call = tree.body
    if not isinstance(call, ast.Call) or not _ACTIVATION_CLASS.match(ast.unparse(call.func)):
        return False
    if any(keyword.arg is None for keyword in call.keywords):
        return False
    try:
        for value in [*call.args, *(keyword.value for keyword in call.keywords)]:
            ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True

"""An edit written as the command that makes it again: the form a provenance line records.

Its own module because both sides need it and neither may import the other at load time: a
recipe's edit prints itself this way (:meth:`.recipe.RecipeEdit.command_line`), and the CLI and
:mod:`.provenance` write it into a file's first line.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any


def command_line(
    action: str,
    subject: str,
    *,
    after: Sequence[str] = (),
    before: Sequence[str] = (),
    with_module: str | None = None,
    args: list[Any] | None = None,
) -> str:
    """An edit as the command that makes it again, every word quoted for a shell:
    ``insert halo --after 8 --args '[2, 1, 4, 0, true]'`` (`subject`: the module inserted, or the
    layer removed or replaced)."""
    words = [action, subject]
    words += [w for t in after for w in ("--after", t)]
    words += [w for t in before for w in ("--before", t)]
    words += ["--with", with_module] if with_module is not None else []
    words += ["--args", json.dumps(args)] if args is not None else []
    return " ".join(shlex.quote(word) for word in words)

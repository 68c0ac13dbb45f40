"""Renderers for `yolo-compose templates`: the list of recipes, or one with its text and an example."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from ..composer.recipe import Recipe, RecipeEdit
from .console import print_json, stdout_console


def template_dict(recipe: Recipe) -> dict[str, Any]:
    """A template as JSON-ready data."""
    return {
        "name": recipe.name,
        "description": recipe.description,
        "where": recipe.where,
        "bases": list(recipe.bases),
        "params": dict(recipe.params),
        "path": recipe.path,
        "edits": [edit_command(edit) for edit in recipe.edits],
        "example": example(recipe),
    }


def edit_command(edit: RecipeEdit) -> str:
    """A recipe's edit as the CLI would be told it: ``insert halo --after SPPF``."""
    if edit.action == "remove":
        return f"remove {edit.target}"
    if edit.action == "replace":
        return f"replace {edit.target} --with {edit.module}"
    targets = [f"--after {t}" for t in edit.after] + [f"--before {t}" for t in edit.before]
    return " ".join(["insert", edit.module, *targets])


def example(recipe: Recipe) -> str:
    """A command that applies the template to the first base it declares."""
    base = recipe.base or (recipe.bases[0] if recipe.bases else "yolo11n")
    return f"yolo-compose apply {recipe.name} --base {base}"


def _what(recipe: Recipe) -> str:
    """The first sentence of the description."""
    first = recipe.description.split(". ")[0]
    return first if first.endswith(".") or not first else first + "."


def render_template_table(recipes: list[Recipe], *, as_json: bool) -> None:
    """Every template: name, what it does, where it puts it, which bases."""
    if as_json:
        print_json([template_dict(recipe) for recipe in recipes])
        return
    table = Table(title="Templates (yolo-compose templates NAME shows one)", title_justify="left")
    for column in ("name", "what", "where", "bases"):
        table.add_column(column, overflow="fold")
    for recipe in recipes:
        table.add_row(recipe.name, _what(recipe), recipe.where, ", ".join(recipe.bases))
    stdout_console().print(table)


def render_template_detail(recipe: Recipe, *, as_json: bool) -> None:
    """One template: its description, placement, bases, params, recipe text and an example."""
    if as_json:
        print_json({**template_dict(recipe), "text": recipe.text})
        return
    console = stdout_console()
    console.print(Text(recipe.name, style="bold"))
    console.print(recipe.description, soft_wrap=True)
    console.print(f"where: {recipe.where or '-'}")
    console.print(f"bases: {', '.join(recipe.bases) or 'any'}")
    if recipe.params:
        params = ", ".join(f"{k} (default {v}; --set {k}=...)" for k, v in recipe.params.items())
        console.print(f"params: {params}")
    console.print(f"recipe ({recipe.path}):")
    console.print(Text(recipe.text.rstrip("\n")), soft_wrap=True)
    console.print(f"example: {example(recipe)}", soft_wrap=True)

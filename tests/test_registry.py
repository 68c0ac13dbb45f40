"""The module registry: names, aliases and YAML names, clear errors, and the two ways to join it."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from conftest import invoke_cli, run_cli

from yolo_compose.errors import UnknownModuleError
from yolo_compose.modules import ModuleSpec, get, register

BUILTIN = {"halo", "mhsa", "cga", "flatten"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("halo", "halo"),
        ("HALO", "halo"),
        ("HaloAttention", "halo"),
        ("botnet", "mhsa"),
        ("MHSA", "mhsa"),
        ("efficientvit", "cga"),
        ("LocalWindowAttention", "cga"),
        ("Cascaded_Group_Attention", "cga"),
        ("fla", "flatten"),
        ("FocusedLinearAttention", "flatten"),
    ],
)
def test_names_aliases_and_yaml_names_find_one_spec(name: str, expected: str) -> None:
    assert get(name).name == expected


def test_unknown_name_lists_valid_names_and_a_guess() -> None:
    with pytest.raises(UnknownModuleError) as info:
        get("hallo")
    message = str(info.value)
    assert "did you mean halo" in message
    for name in BUILTIN:
        assert name in message


def test_a_taken_name_is_refused() -> None:
    clash = ModuleSpec(name="halo2", yaml_name="HaloAttention", target="x:Y", summary="clash")
    with pytest.raises(ValueError, match="already taken"):
        register(clash)


def write_user_module(folder: Path, module: str, yaml_name: str) -> None:
    """A user's Python module that registers a channel-keeping module when imported."""
    (folder / f"{module}.py").write_text(
        textwrap.dedent(
            f"""
            from torch import nn
            from yolo_compose.modules import ArgSpec, ModuleSpec, register


            class {yaml_name}(nn.Module):
                def __init__(self, c1, scale=1.0):
                    super().__init__()
                    self.proj = nn.Conv2d(c1, c1, 1)
                    self.scale = scale

                def forward(self, x):
                    return x + self.scale * self.proj(x)


            SPEC = ModuleSpec(
                name="{module}",
                yaml_name="{yaml_name}",
                target="{module}:{yaml_name}",
                summary="a user's module",
                args=(ArgSpec("scale", "float", 0.5, "residual scale"),),
            )
            """
        ),
        encoding="utf-8",
    )


@pytest.mark.slow
def test_user_module_joins_with_import_option(tmp_path: Path) -> None:
    write_user_module(tmp_path, "my_attn", "MyAttention")
    (tmp_path / "register_my_attn.py").write_text(
        "from yolo_compose.modules import register\nfrom my_attn import SPEC\nregister(SPEC)\n",
        encoding="utf-8",
    )
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    listed = run_cli("modules", "--json", "--import", "register_my_attn", env=env)
    assert listed.returncode == 0, listed.stderr
    assert {"halo", "my_attn"} <= {spec["name"] for spec in json.loads(listed.stdout)}

    inserted = run_cli(
        "insert", "my_attn", "--after", "SPPF", "--base", "yolo11n", "--no-build", "-o", "-",
        "--import", "register_my_attn", cwd=tmp_path, env=env,
    )
    assert inserted.returncode == 0, inserted.stderr
    assert "[-1, 1, MyAttention, [0.5]]" in inserted.stdout

    missing = run_cli("modules", "--import", "no_such_module_here", env=env)
    assert missing.returncode == 2
    assert "--import: cannot import 'no_such_module_here'" in missing.stderr


def test_installed_package_joins_through_the_entry_point_group(tmp_path: Path) -> None:
    write_user_module(tmp_path, "ep_attn", "EntryPointAttention")
    dist_info = tmp_path / "ep_attn-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-attn\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[yolo_compose.modules]\nep = ep_attn:SPEC\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = run_cli("modules", "EntryPointAttention", "--json", env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["name"] == "ep_attn"
    assert shown["default_args"] == [0.5]


def test_modules_command_shows_every_builtin_and_one_in_detail() -> None:
    listed = invoke_cli("modules", "--json")
    assert listed.returncode == 0, listed.stderr
    specs = {spec["name"]: spec for spec in json.loads(listed.stdout)}
    assert set(specs) >= BUILTIN
    assert specs["mhsa"]["complexity"] == "O(N^2)"
    assert "botnet" in specs["mhsa"]["aliases"]

    detail = invoke_cli("modules", "botnet")
    assert detail.returncode == 0, detail.stderr
    assert "MHSA" in detail.stdout
    assert "width" in detail.stdout and "height" in detail.stdout
    assert "example: yolo-compose insert mhsa" in detail.stdout

    unknown = invoke_cli("modules", "hallo")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("error: unknown module 'hallo' (did you mean halo?)")

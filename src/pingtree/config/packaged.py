"""YAML files shipped with pingtree: the built-in verticals and the example marketplace."""

from __future__ import annotations

from importlib.resources import files

__all__ = ["example_text", "vertical_text"]


def vertical_text(vertical_id: str) -> str:
    """The YAML document of a shipped vertical (``auto_insurance``, ``health_insurance``).

    Raises ``FileNotFoundError`` for a vertical that is not shipped.
    """
    return _read("verticals", vertical_id)


def example_text(name: str) -> str:
    """The YAML of a shipped example configuration (``marketplace``).

    Raises ``FileNotFoundError`` for an example that is not shipped.
    """
    return _read("examples", name)


def _read(folder: str, name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise FileNotFoundError(f"no packaged {folder} file {name!r}")
    return files("pingtree.config").joinpath(folder, f"{name}.yaml").read_text("utf-8")

"""Loading a province's communes from the vietnam-provinces package (two-level data, 2025)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from vietnam_provinces import ProvinceCode, Ward

from handlers.communes import CommuneBook
from handlers.text import fold

__all__ = ["commune_loader", "load_communes"]


def load_communes(
    province_code: int, add: Sequence[str] = (), rename: Mapping[str, str] | None = None
) -> CommuneBook:
    """Communes (xã, phường, đặc khu) of a province, sorted by Vietnamese name, plus config's
    additions and renames."""
    try:
        code = ProvinceCode(province_code)
    except ValueError as exc:
        raise ValueError(f"unknown province_code {province_code}") from exc
    rename = rename or {}
    names = {rename.get(w.name, w.name) for w in Ward.iter_by_province(code)}
    names.update(add)
    return CommuneBook(tuple(sorted(names, key=_sort_key)))


def _sort_key(name: str) -> tuple[str, str]:
    # Sort by the name without its "Xã"/"Phường" prefix, so the list reads alphabetically.
    _, _, rest = name.partition(" ")
    if name.startswith("Đặc khu"):
        rest = name.removeprefix("Đặc khu ")
    return fold(rest), name


def commune_loader(add: Sequence[str], rename: Mapping[str, str]):
    """A cached province_code → CommuneBook function for the flows."""

    @functools.cache
    def load(province_code: int) -> CommuneBook:
        return load_communes(province_code, add, rename)

    return load

"""Loading a province's communes from the vietnam-provinces package (two-level data, 2025)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

from vietnam_provinces import ProvinceCode, Ward

from handlers.communes import CommuneBook
from handlers.text import fold

__all__ = ["commune_loader", "load_communes"]

# Pre-July-2025 names and the commune each is part of now (deploy/legacy_communes.py writes it):
# vietnam-provinces 2025.10.1, the release for Python 3.11, has no merger tables.
LEGACY_TABLE = Path(__file__).with_name("legacy_communes.tsv")


def load_communes(
    province_code: int, add: Sequence[str] = (), rename: Mapping[str, str] | None = None,
    legacy: Mapping[str, str] | None = None,
) -> CommuneBook:
    """Communes (xã, phường, đặc khu) of a province, sorted by Vietnamese name, plus config's
    additions and renames, and the pre-2025 names it knows (config's, the package's)."""
    try:
        code = ProvinceCode(province_code)
    except ValueError as exc:
        raise ValueError(f"unknown province_code {province_code}") from exc
    rename = rename or {}
    names = {rename.get(w.name, w.name) for w in Ward.iter_by_province(code)}
    names.update(add)
    known = {old: rename.get(new, new) for old, new in _table_legacy(province_code).items()}
    return CommuneBook(tuple(sorted(names, key=_sort_key)), legacy={**known, **(legacy or {})},
                       legacy_search=_package_legacy(code, rename))


@functools.cache
def _table_legacy(province_code: int, path: Path = LEGACY_TABLE) -> dict[str, str]:
    """Old name → commune now, for one province, from the shipped table."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        province, old, new = line.split("\t")
        if int(province) == province_code:
            found[old] = new
    return found


def _package_legacy(code: ProvinceCode, rename: Mapping[str, str]):
    """The package's 2025 merger tables, where it has them: vietnam-provinces 2026.x
    (`Ward.search_from_legacy`, Python ≥ 3.12). 2025.10.1, the release for Python 3.11, has
    none: then the shipped table (LEGACY_TABLE) and `[communes.legacy]` know old names."""
    search = getattr(Ward, "search_from_legacy", None)
    if search is None:
        return None

    def lookup(typed: str) -> tuple[str, ...]:
        try:
            found = search(name=typed)
        except Exception:  # a data or API change in the package must not break her step
            return ()
        return tuple(rename.get(w.name, w.name) for w in found
                     if getattr(w, "province_code", None) == code)

    return lookup


def _sort_key(name: str) -> tuple[str, str]:
    # Sort by the name without its "Xã"/"Phường" prefix, so the list reads alphabetically.
    _, _, rest = name.partition(" ")
    if name.startswith("Đặc khu"):
        rest = name.removeprefix("Đặc khu ")
    return fold(rest), name


def commune_loader(add: Sequence[str], rename: Mapping[str, str],
                   legacy: Mapping[str, str] | None = None):
    """A cached province_code → CommuneBook function for the flows."""

    @functools.cache
    def load(province_code: int) -> CommuneBook:
        return load_communes(province_code, add, rename, legacy)

    return load

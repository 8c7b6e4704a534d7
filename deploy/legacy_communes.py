"""Write bot/legacy_communes.tsv: the communes' names from before the July 2025 merger and the
commune each became part of, for the given provinces.

The table comes from the 2025 merger data of vietnam-provinces 2026.x, which needs Python ≥ 3.12
(the 3.11 release the bot runs on has none). Run it where such a Python is, e.g.
    python3.12 -m venv /tmp/vp && /tmp/vp/bin/pip install 'vietnam-provinces>=2026.9'
    /tmp/vp/bin/python deploy/legacy_communes.py 12 > bot/legacy_communes.tsv
(12 = Lai Châu). Rows whose old name is still a commune's name today, or that went to two
communes, are left out: she is never offered a guess between two.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from vietnam_provinces import ProvinceCode, Ward


def rows(province: int) -> list[tuple[str, str]]:
    code = ProvinceCode(province)
    current = {w.name for w in Ward.iter_by_province(code)}
    merged: dict[str, set[str]] = defaultdict(set)
    for ward in Ward.iter_by_province(code):
        for old in ward.get_legacy_sources():  # type: ignore[attr-defined]  # 2026.x only
            merged[old.name].add(ward.name)
    return sorted((old, new.pop()) for old, new in merged.items()
                  if len(new) == 1 and old not in current)


def main(provinces: list[int]) -> None:
    print("# province_code\told name (before 7/2025)\tcommune now (deploy/legacy_communes.py)")
    for province in provinces:
        for old, new in rows(province):
            print(f"{province}\t{old}\t{new}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [12])

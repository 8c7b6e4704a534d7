"""How many labelled questions masking changes: a false-mask check for handlers.privacy.

The sets in tests/data/cluster_*.jsonl are ordinary questions (policy words, places, amounts,
years, ages); none carries a phone, an email, an ID number or a person's name, so every text
`mask_pii` (what staff read) or `mask_for_member` (what another member reads) changes is a
candidate false mask, to be read by a person (other sets, such as danger_*.jsonl, do name
people: read their changes too). Prints one JSON line with the counts per set and, with
`--show`, each changed text before and after (on stderr).

Run from the repo root: `.venv/bin/python bench/mask_changes.py [--show] [SET.jsonl ...]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.privacy import mask_for_member, mask_pii

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def main(argv: list[str]) -> int:
    show = "--show" in argv
    paths = [Path(a) for a in argv if a != "--show"] or sorted(DATA.glob("cluster_*.jsonl"))
    report: dict[str, dict[str, int]] = {}
    for path in paths:
        rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        texts = [row["text"] for row in rows if isinstance(row.get("text"), str)]
        staff = member = 0
        for text in texts:
            for_staff, for_member = mask_pii(text), mask_for_member(text)
            staff += for_staff != text
            member += for_member != text
            if show and for_member != text:
                print(f"{path.name}\n  {text}\n  staff:  {for_staff}\n  member: {for_member}",
                      file=sys.stderr)
        report[path.name] = {"texts": len(texts), "changed_staff": staff,
                             "changed_member": member}
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

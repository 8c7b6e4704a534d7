"""`python -m bot report`: the period report (seed 003), registered in bot/cli.py."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from .cli import _db_option, _with_runtime, command
from .config import Config

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["cmd_report", "parse_day"]


def parse_day(value: str) -> dt.date:
    """2027-06-30 or 30/06/2027."""
    value = value.strip()
    try:
        if "/" in value:
            day, month, year = (int(x) for x in value.split("/"))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: write 2027-06-30 or 30/06/2027") from exc


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=parse_day, required=True,
                        help="first day of the period (local date)")
    parser.add_argument("--to", dest="end", type=parse_day, required=True,
                        help="last day of the period, included")
    parser.add_argument("--chart", type=Path, help="write the chart (PNG) to this file")
    _db_option(parser)


@command(_report_options)
def cmd_report(args: argparse.Namespace, config: Config) -> int:
    """Period report across dialogues: questions received, answers on time, median days to
    answer per department, commitments resolved; with a chart.

    Example: python -m bot report --from 2027-01-01 --to 2027-06-30 --chart bao-cao.png
    """
    from handlers import formats

    from .period import period_report, period_text, render_period_chart

    if args.end < args.start:
        raise SystemExit("--to is before --from")

    async def work(runtime: Runtime) -> int:
        settings = runtime.services.settings
        async with runtime.db.transaction() as conn:
            report = await period_report(conn, settings, args.start, args.end)
        print(period_text(report, settings, runtime.services.locale))
        if args.chart:
            args.chart.parent.mkdir(parents=True, exist_ok=True)
            period = f"{formats.day(args.start)} – {formats.day(args.end)}"
            args.chart.write_bytes(render_period_chart(report, f"{settings.union_name}: {period}"))
            print(f"chart: {args.chart}")
        return 0

    return _with_runtime(config, args.db, work)

"""The web console for union staff, departments and safety officers (issue 17)."""

from starlette.convertors import Convertor, register_url_convertor


class _RowId(Convertor[int]):
    """A row id in a URL ("/cum/{cluster_id:id}"): at most 18 digits, so it fits SQLite's
    INTEGER. Starlette's `int` took any length and a 20-digit id was a 500 (OverflowError);
    now it is a 404 like any id that is not there."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", _RowId())

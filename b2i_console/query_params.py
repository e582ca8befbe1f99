"""Strict integer query parameters and the API's pagination: a malformed value is the client's
mistake (400 in the API's JSON error shape), never a 500 from the database.

`?limit=99999999999999999999` used to reach the database as a LIMIT it cannot store
(DataError / OverflowError -> 500 on every list), and DRF's own pagination silently ignores
`?limit=abc`, which hides the client's mistake.
"""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

from b2i_console.errors import UserError

MAX_PAGE_SIZE = 200


def int_query_param(request: Request, name: str, default: int, *, minimum: int = 0) -> int:
    """The whole-number query parameter NAME (DEFAULT when absent); 400 when it is not one.

    Callers clamp the upper end themselves: any count of digits is a valid number here."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise UserError(
            "request:invalid-parameter",
            f"The query parameter {name} must be a whole number of at least {minimum}.",
            parameter=name,
        )
    return int(raw)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset pages of at most MAX_PAGE_SIZE items (a larger limit gets the largest page);
    a limit or offset that is not a whole number is a 400."""

    max_limit = MAX_PAGE_SIZE

    def get_limit(self, request: Request) -> int:
        default = int(self.default_limit or MAX_PAGE_SIZE)
        return min(
            int_query_param(request, self.limit_query_param, default, minimum=1), MAX_PAGE_SIZE
        )

    def get_offset(self, request: Request) -> int:
        # An offset past the end is an empty page (the base class compares it with the count
        # before slicing), so a huge one never reaches the database.
        return int_query_param(request, self.offset_query_param, 0)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: {"minimum": 1}, self.offset_query_param: {"minimum": 0}}
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters

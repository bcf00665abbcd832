"""A projection row read through named attributes: the one shape of the container,
image and network views.

Not a dataclass: every read command builds these, and importing dataclasses (inspect,
dis, ast) would cost it ~10 ms. A column is a descriptor, so a view class is a list of
its columns rather than a property per column.
"""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class RowView:
    __slots__ = ("row",)

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def __repr__(self) -> str:
        return f"{type(self).__name__}(row={self.row!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.row == other.row  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


class Column(Generic[T]):
    """row[key] as it is stored, or decoded from its JSON text (decode=True)."""

    __slots__ = ("key", "decode")

    def __init__(self, key: str, decode: bool = False) -> None:
        self.key = key
        self.decode = decode

    @overload
    def __get__(self, view: None, owner: type) -> Column[T]: ...

    @overload
    def __get__(self, view: RowView, owner: type) -> T: ...

    def __get__(self, view: RowView | None, owner: type) -> Column[T] | T:
        if view is None:
            return self
        value = view.row[self.key]
        return json.loads(value) if self.decode else value

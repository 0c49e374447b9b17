"""``@record`` behaves as ``dataclass(frozen=True)`` does, at a lower import cost."""

from __future__ import annotations

import dataclasses
import re

import pytest

from wsdiag.models import Handshake
from wsdiag.records import record


@record
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = dataclasses.field(default="", compare=False, repr=False)


@record
class Listed:
    items: list[int] = dataclasses.field(default_factory=list)


@record
class Masked:
    secret: str

    def __repr__(self) -> str:
        return "Masked(secret='…')"


def test_fields_defaults_and_replace() -> None:
    point = Point(1, tags=("a",))
    assert (point.x, point.y, point.tags, point.note) == (1, 0, ("a",), "")
    assert dataclasses.replace(point, y=5) == Point(1, 5, ("a",))
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "tags", "note"]
    assert dataclasses.asdict(point) == {"x": 1, "y": 0, "tags": ("a",), "note": ""}


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing required argument 'x'"),
        ((1, 2, (), "", 5), {}, "takes 4 arguments but 5 were given"),
        ((1,), {"x": 2}, "multiple values for 'x'"),
        ((1,), {"colour": "red"}, "unexpected keyword arguments ['colour']"),
    ],
)
def test_wrong_arguments_are_a_type_error(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        Point(*args, **kwargs)


def test_a_default_factory_makes_a_fresh_value_each_time() -> None:
    first, second = Listed(), Listed()
    first.items.append(1)
    assert second.items == []


REFUSED = {
    "post_init": "@record\nclass A:\n    x: int\n    def __post_init__(self) -> None: ...",
    "init_var": "@record\nclass A:\n    x: dataclasses.InitVar[int]",
    "kw_only": "@record\nclass A:\n    x: int = field(kw_only=True)",
    "init_false": "@record\nclass A:\n    x: int = field(init=False, default=0)",
    "own_setattr": "@record\nclass A:\n    x: int\n    def __setattr__(self, n, v): ...",
    "extends_a_dataclass": "@dataclass\nclass B:\n    y: int = 0\n@record\nclass A(B): ...",
    "extended": "class A(Point): ...",
}


@pytest.mark.parametrize("source", REFUSED.values(), ids=REFUSED.keys())
def test_what_records_do_not_take_is_refused_when_the_class_is_made(source: str) -> None:
    scope = {
        "__name__": __name__,  # where dataclass reads a string annotation's names
        "dataclasses": dataclasses,
        "record": record,
        "field": dataclasses.field,
        "dataclass": dataclasses.dataclass,
        "Point": Point,
    }
    with pytest.raises(TypeError):
        exec(source, scope)


def test_a_record_that_holds_itself_has_a_finite_repr() -> None:
    holder = Listed()
    holder.items.append(holder)  # type: ignore[arg-type]
    assert repr(holder) == "Listed(items=[...])"


def test_equality_and_hash_follow_the_compared_fields() -> None:
    assert Point(1, 2) == Point(1, 2, note="other")  # note is compare=False
    assert Point(1, 2) != Point(1, 3)
    assert hash(Point(1, 2)) == hash(Point(1, 2, note="other"))
    assert len({Point(1, 2), Point(1, 2), Point(2, 2)}) == 2
    assert Point(1) != (1, 0, (), "")  # another type is never equal


def test_repr_shows_repr_fields_and_a_class_repr_is_kept() -> None:
    assert repr(Point(1, 2, note="hidden")) == "Point(x=1, y=2, tags=())"
    assert repr(Masked("s3cret")) == "Masked(secret='…')"


def test_fields_cannot_change_or_be_added_or_deleted() -> None:
    point = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.other = 1  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.y  # type: ignore[misc]
    assert point == Point(1)


def test_an_undocumented_record_is_documented_by_its_fields() -> None:
    assert Point.__doc__ == "Point(x, y, tags, note)"
    assert Handshake.__doc__ == "websocket: the Pusher handshake's result."  # its own stays


def test_match_args_as_dataclass() -> None:
    match Point(3, 4):
        case Point(x, y):
            assert (x, y) == (3, 4)
        case _:
            pytest.fail("a record must match positionally")

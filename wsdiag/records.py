"""``@record``: wsdiag's frozen records, at half the import cost of ``dataclass(frozen=True)``.

A ``wsdiag check`` imports about sixty frozen records, and ``dataclass(frozen=True)`` compiles
six methods for each with ``exec`` (about 0.8 ms a class, a fifth of check's own start-up,
issue 13). A record is a dataclass that compiles only its ``__init__``; equality, hashing,
``repr`` and the refusal to change a field are shared methods with the same behaviour: each
field is set once, by ``__init__`` (or ``__post_init__``), and any later assignment or
deletion raises ``FrozenInstanceError``. Type checkers see ``dataclass(frozen=True)`` (PEP 681).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast, dataclass_transform

_Class = TypeVar("_Class", bound=type)


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: _Class) -> _Class:
    made: Any = dataclasses.dataclass(cls, eq=False, repr=False)
    every = dataclasses.fields(made)
    made.__record_compared__ = tuple(f.name for f in every if f.compare)
    made.__record_hashed__ = tuple(
        f.name for f in every if (f.compare if f.hash is None else f.hash)
    )
    made.__record_shown__ = tuple(f.name for f in every if f.repr)
    shared = {
        "__eq__": _eq,
        "__hash__": _hash,
        "__repr__": _repr,
        "__setattr__": _set_once,
        "__delattr__": _refuse_delete,
    }
    for name, method in shared.items():
        if cls.__dict__.get(name) is None:  # a method of the class's own stays (as dataclass)
            setattr(made, name, method)
    return cast(_Class, made)


def _values(item: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(item, name) for name in names)


def _eq(self: Any, other: Any) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = self.__record_compared__
    return _values(self, names) == _values(other, names)


def _hash(self: Any) -> int:
    return hash(_values(self, self.__record_hashed__))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)
    return f"{self.__class__.__qualname__}({shown})"


def _set_once(self: Any, name: str, value: Any) -> None:
    if name in self.__dict__ or name not in self.__dataclass_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _refuse_delete(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

"""``@record``: wsdiag's frozen records, at a tenth of the import cost of a frozen dataclass.

A ``wsdiag check`` imports about sixty frozen records, and ``dataclass(frozen=True)`` compiles
six methods for each with ``exec`` (about 0.8 ms a class: 39 ms, a fifth of check's own
start-up, issue 13). A record is a dataclass that compiles nothing: ``__init__``, equality,
hashing, ``repr`` and the refusal to change a field are shared methods that read the class's
fields, with the same behaviour: arguments by position or name, defaults and default
factories, each field set once by ``__init__`` and ``FrozenInstanceError`` on any later
assignment or deletion. Type checkers see ``dataclass(frozen=True)`` (PEP 681).

Not supported (a class that needs them stays a dataclass): ``InitVar``, ``kw_only``,
``field(init=False)``, ``__post_init__``, a ``__setattr__`` or ``__delattr__`` of its own, and
inheritance (a record neither extends a dataclass nor is extended): each is refused when the
class is made, as ``dataclass(frozen=True)`` refuses what it cannot do.
"""

from __future__ import annotations

import dataclasses
import reprlib
from typing import Any, TypeVar, cast, dataclass_transform

_Class = TypeVar("_Class", bound=type)
_MISSING = dataclasses.MISSING


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: _Class) -> _Class:
    if any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: a record does not extend a dataclass or record")
    if "__setattr__" in cls.__dict__ or "__delattr__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: a record cannot define __setattr__ or __delattr__")
    documented = cls.__doc__ is not None
    if not documented:  # else dataclass writes one with inspect.signature: half a record's cost
        cls.__doc__ = cls.__name__
    made: Any = dataclasses.dataclass(cls, init=False, eq=False, repr=False)
    every = dataclasses.fields(made)
    if not documented:
        made.__doc__ = f"{cls.__name__}({', '.join(f.name for f in every)})"
    # How dataclass marks an InitVar (private: read defensively, a later Python may differ).
    init_only = getattr(dataclasses, "_FIELD_INITVAR", object())
    if (
        hasattr(made, "__post_init__")
        or any(f.kw_only or not f.init for f in every)
        or any(
            getattr(f, "_field_type", None) is init_only for f in made.__dataclass_fields__.values()
        )
    ):
        raise TypeError(f"{cls.__name__}: @record takes plain fields; use a dataclass")
    made.__record_init__ = tuple((f.name, f.default, f.default_factory) for f in every)
    made.__record_compared__ = tuple(f.name for f in every if f.compare)
    made.__record_hashed__ = tuple(
        f.name for f in every if (f.compare if f.hash is None else f.hash)
    )
    made.__record_shown__ = tuple(f.name for f in every if f.repr)
    shared = {
        "__init__": _init,
        "__eq__": _eq,
        "__hash__": _hash,
        "__repr__": _repr,
        "__setattr__": _refuse_assignment,
        "__delattr__": _refuse_delete,
    }
    for name, method in shared.items():
        if name not in cls.__dict__ or _implicit_no_hash(cls, name):
            setattr(made, name, method)  # a method of the class's own stays (as dataclass)
    made.__init_subclass__ = classmethod(_refuse_subclass)
    return cast(_Class, made)


def _implicit_no_hash(cls: type, name: str) -> bool:
    """Python sets ``__hash__ = None`` on a class that defines ``__eq__``; a frozen dataclass
    hashes it all the same."""
    return name == "__hash__" and cls.__dict__[name] is None and "__eq__" in cls.__dict__


def _refuse_subclass(cls: type, /, **_: Any) -> None:
    raise TypeError(f"{cls.__name__}: a record is not extended; make a record of its own")


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    fields = self.__record_init__
    if len(args) > len(fields):
        raise TypeError(
            f"{type(self).__name__}() takes {len(fields)} arguments but {len(args)} were given"
        )
    put, taken = object.__setattr__, 0
    for position, (name, default, factory) in enumerate(fields):
        if position < len(args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}() got multiple values for {name!r}")
            put(self, name, args[position])
        elif name in kwargs:
            put(self, name, kwargs[name])
            taken += 1
        elif default is not _MISSING:
            put(self, name, default)
        elif factory is not _MISSING:
            put(self, name, factory())
        else:
            raise TypeError(f"{type(self).__name__}() missing required argument {name!r}")
    if taken != len(kwargs):
        unknown = sorted(kwargs.keys() - {name for name, _, _ in fields})
        raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {unknown}")


def _values(item: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(item, name) for name in names)


def _eq(self: Any, other: Any) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = self.__record_compared__
    return _values(self, names) == _values(other, names)


def _hash(self: Any) -> int:
    return hash(_values(self, self.__record_hashed__))


@reprlib.recursive_repr()  # a record that holds itself shows "...", as a dataclass's repr
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)
    return f"{self.__class__.__qualname__}({shown})"


def _refuse_assignment(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delete(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

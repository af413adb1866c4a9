"""Lazy package attributes (PEP 562): a package names what its submodules hold and imports each on
first use, so the code location can import the package without paying for every stage's libraries."""

from __future__ import annotations

import importlib
import sys
from typing import Callable


def lazy_attributes(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """A module-level `__getattr__` for `package`: `names` maps an attribute to the submodule holding it.

    A name may not be a submodule's own name: importing that submodule (anyone's `import pkg.sub`)
    rebinds the package attribute to the module, and callers would get the module instead."""
    clash = sorted(n for n, sub in names.items() if n == sub)
    if clash:
        raise ValueError(f"{package}: lazy names {clash} are submodule names; bind them at import instead")

    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    return __getattr__

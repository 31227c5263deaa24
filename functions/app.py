"""Every function's routes in one app, for local serving (`ugig dev`) and the HTTP tests.

Each deployed function is its own module exposing `router` and `handler`; this module finds them
all, so adding a function needs no edit here.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter

import functions
from shared.config import get_settings
from shared.web.app import create_app

_NOT_FUNCTIONS = {"app"}


def discover_routers() -> list[APIRouter]:
    routers: list[APIRouter] = []
    for module_info in sorted(pkgutil.iter_modules(functions.__path__), key=lambda m: m.name):
        if module_info.name in _NOT_FUNCTIONS or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"functions.{module_info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            routers.append(router)
    return routers


def _local_routers() -> list[APIRouter]:
    if get_settings().storage_backend != "local":
        return []
    from shared.web.local_storage import router as storage_router

    return [storage_router]


app = create_app(*discover_routers(), *_local_routers(), title="ugig API")

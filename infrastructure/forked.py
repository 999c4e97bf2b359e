"""A child process forked to work beside this one on the second core, sending its results through a pipe."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any


def start_child(target: Callable[..., None], args: tuple[Any, ...], name: str) -> tuple[BaseProcess, Connection]:
    """Fork a child running ``target(*args, sending)``: the child has what this process holds as it is (no
    pickling), and its pages stay shared, since its collector leaves alone what exists at the fork. Returns
    the child and the receiving end of its pipe (this process's sending end is closed)."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=target, args=(*args, sending), name=name, daemon=True)
    gc.freeze()
    try:
        child.start()
    finally:
        gc.unfreeze()
    sending.close()
    return child, receiving

"""A child process forked to work beside this one on the second core, sending its results through a pipe."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any


@contextmanager
def forked(target: Callable[..., None], args: tuple[Any, ...], name: str) -> Iterator[tuple[BaseProcess, Connection]]:
    """A child running ``target(*args, sending)``, and the receiving end of its pipe. The child has what this
    process holds as it is (no pickling), and its pages stay shared: its collector leaves alone what exists
    at the fork. On leaving, however this process leaves, the pipe is closed and the child stopped."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=target, args=(*args, sending), name=name, daemon=True)
    gc.freeze()
    try:
        child.start()
    finally:
        gc.unfreeze()
    sending.close()
    try:
        yield child, receiving
    finally:
        receiving.close()
        if child.is_alive():
            child.kill()
        child.join()

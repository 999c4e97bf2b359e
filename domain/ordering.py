"""The order of a restore's writes: referenced models first; nullable references inside a cycle
are written empty, then set."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from domain.errors import PlanError
from domain.profile import ForeignKey, ModelProfile, Profile


def write_order(profile: Profile, labels: set[str]) -> tuple[list[str], dict[str, set[str]]]:
    """Models with referenced ones first; nullable FKs inside a cycle are written empty, then set.

    Returns the order and, per model, the FK fields to defer. A cycle made only of
    non-nullable foreign keys cannot be written and is a ``PlanError``.
    """
    edges: dict[str, list[ForeignKey]] = {
        label: [fk for fk in profile.models[label].foreign_keys.values() if fk.model in labels]
        + _parent_edge(profile.models[label], labels)
        for label in sorted(labels)
    }
    component = _components(edges)
    deferred: dict[str, set[str]] = defaultdict(set)
    for label, fks in edges.items():
        for fk in fks:
            if fk.nullable and component[fk.model] == component[label]:
                deferred[label].add(fk.field)
    remaining = {label: {fk.model for fk in fks if fk.field not in deferred[label]} for label, fks in edges.items()}
    order: list[str] = []
    ready = sorted(label for label, deps in remaining.items() if not deps)
    while ready:
        label = ready.pop(0)
        order.append(label)
        for other, deps in remaining.items():
            if label in deps:
                deps.discard(label)
                if not deps and other not in order and other not in ready:
                    ready.append(other)
        ready.sort()
    stuck = sorted(label for label in remaining if label not in order)
    if stuck:
        fields = [
            f"{label}.{fk.field} -> {fk.model}"
            for label in stuck
            for fk in edges[label]
            if fk.model in stuck and fk.field not in deferred[label]
        ]
        raise PlanError(
            "these models reference each other only through non-nullable foreign keys, "
            f"so no order can write them: {', '.join(fields)}"
        )
    return order, dict(deferred)


def _parent_edge(model: ModelProfile, labels: set[str]) -> list[ForeignKey]:
    """A multi-table child is written after its parent: its pk references the parent's."""
    if model.parent and model.parent in labels:
        return [ForeignKey(f"<{model.pk.name}>", model.pk.name, model.parent, False)]
    return []


def _components(edges: dict[str, list[ForeignKey]]) -> dict[str, int]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(fk.model for fk in edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(fk.model for fk in edges[successor])))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = index[node]
                    if member == node:
                        break
    return component

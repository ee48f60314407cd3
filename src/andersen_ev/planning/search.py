"""The exact search for the cheapest windows: a dynamic programme over the horizon's atoms.

A plan is at most ``slots`` windows (one schedule slot each), each within one local day,
delivering exactly the minutes of charging asked for. Every atom (see
:mod:`~andersen_ev.planning.timeline`) is either skipped or used whole, except that at most
one window edge in the whole plan falls inside an atom: the *partial* atom. That loses
nothing: given two edges inside atoms, moving minutes from the dearer to the cheaper
changes the cost linearly, so one of them reaches an atom boundary at no extra cost and
without adding a window (atoms are cut wherever the rules change).

The programme walks the atoms in time order. A state is: the windows used, whether the
partial atom is spent, the minutes delivered so far, and whether a window is open at the
atom's end (it may run on into the next atom). The partial atom takes exactly the minutes
that whole later atoms can complement to the total asked for.

States that cannot finish, or that cannot finish under a ceiling on the cost, are dropped:
the optimum is never among them, so the search stays exact. Two lower bounds on the rest
of a state's cost are checked: the cheapest later minutes with windows ignored, and a
Lagrangian bound with windows counted (each minute worth the price of the dearest minute
a plan without windows would buy, against the most the later atoms can gain in the windows
left). The ceiling rises from the best lower bound of the whole plan to the cost of a plan
found quickly (:func:`upper_bound`), then goes; the first pass that finds a plan has found
the cheapest.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from andersen_ev.planning.timeline import Atom

__all__ = ["Trail", "cheapest", "most_minutes", "spans", "upper_bound"]

# what a window does in an atom; the trail of a state records one step per atom used
RUN_ON, NEW, RUN_ON_HEAD, NEW_HEAD, NEW_TAIL = range(5)
_HEAD = RUN_ON_HEAD - RUN_ON  # a head step is its whole step's kind + 2

#: A linked list of steps ``(kind, atom index, minutes, previous)``, newest first.
Trail = tuple[int, int, int, Any] | None
Costs = dict[int, float]
Trails = dict[int, Trail]
#: States keyed by ``(windows used, partial atom spent)``: minutes -> cost, minutes -> trail.
Layer = dict[tuple[int, int], tuple[Costs, Trails]]


def _group(layer: Layer, key: tuple[int, int]) -> tuple[Costs, Trails]:
    found = layer.get(key)
    if found is None:
        found = layer[key] = ({}, {})
    return found


def _relax(layer: Layer, key: tuple[int, int], minutes: int, cost: float, trail: Trail) -> None:
    costs, trails = _group(layer, key)
    old = costs.get(minutes)
    if old is None or cost < old:
        costs[minutes] = cost
        trails[minutes] = trail


@dataclass
class _After:
    """What the states after one atom may still become (the atoms later than it)."""

    need: int
    complements: list[int]
    """Sorted totals (up to ``need``) of whole later atoms."""
    room: int
    """Minutes in the later atoms."""
    fill: tuple[list[int], list[float], list[float]]
    """The later atoms by rate: cumulated minutes, cumulated costs, rates."""
    ceiling: float = math.inf
    """The most a plan may cost in the current pass."""
    level: float = 0.0
    """A price per minute for the Lagrangian bound with windows."""
    gains: list[tuple[float, float]] = field(default_factory=list)
    """By windows still allowed: the most the later atoms gain at ``level`` (closed, open)."""
    floors: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.complement_set = set(self.complements)

    def cheapest_rest(self, minutes: int) -> float:
        """The least the remaining ``minutes`` could cost, windows ignored (cached)."""
        floor = self.floors.get(minutes)
        if floor is None:
            totals, costs, rates = self.fill
            k = bisect.bisect_right(totals, minutes) - 1
            floor = costs[k] + (minutes - totals[k]) * rates[k] if k < len(rates) else costs[k]
            self.floors[minutes] = floor
        return floor

    def keeps(self, partial: int, minutes: int, cost: float, windows: int, is_open: int) -> bool:
        """Whether a state may still finish, at no more than the ceiling.

        ``windows``: how many more windows it may open; ``is_open``: whether one is open.
        """
        left = self.need - minutes
        if left in self.complement_set if partial else 0 <= left <= self.room:
            if cost + self.cheapest_rest(left) > self.ceiling:
                return False
            # any set of later minutes costs at least level x minutes - the most they gain
            return cost + self.level * left - self.gains[windows][is_open] <= self.ceiling
        return False


def _afters(atoms: Sequence[Atom], need: int, slots: int) -> list[_After]:
    """For each ``j``, what is left after atoms ``0 .. j-1``."""
    level = _marginal_rate(atoms, need)
    afters: list[_After] = []
    totals: set[int] = {0}
    room = 0
    rates: list[float] = []  # the later atoms by rate, with their lengths and costs
    lengths: list[int] = []
    costs: list[float] = []
    lost = -math.inf
    gains = [(0.0, 0.0)] * (slots + 1)
    for atom in reversed(atoms):
        fill = (
            list(accumulate(lengths, initial=0)),
            list(accumulate(costs, initial=0.0)),
            rates[:],
        )
        afters.append(_After(need, sorted(totals), room, fill, level=level, gains=gains))
        totals = totals | {total + atom.length for total in totals if total + atom.length <= need}
        room += atom.length
        at = bisect.bisect(rates, atom.rate)
        rates.insert(at, atom.rate)
        lengths.insert(at, atom.length)
        costs.insert(at, atom.cost)
        gain = level * atom.length - atom.cost
        closed = [max(gains[k][0], gain + gains[k - 1][1] if k else lost) for k in range(slots + 1)]
        gains = [
            (closed[k], max(closed[k], gain + gains[k][1]) if atom.joins else closed[k])
            for k in range(slots + 1)
        ]
    fill = (list(accumulate(lengths, initial=0)), list(accumulate(costs, initial=0.0)), rates)
    afters.append(_After(need, sorted(totals), room, fill, level=level, gains=gains))
    afters.reverse()
    return afters


def _marginal_rate(atoms: Sequence[Atom], need: int) -> float:
    """The rate of the dearest minute among the ``need`` cheapest (0 if there is none)."""
    total = 0
    for atom in sorted(atoms, key=lambda atom: atom.rate):
        total += atom.length
        if total >= need:
            return atom.rate
    return 0.0


def _step(
    atom: Atom,
    j: int,
    layer: Layer,
    slots: int,
    after: _After,
    out: tuple[Layer, Layer],
    *,
    is_open: bool,
) -> None:
    """Move the states of ``layer`` through atom ``j`` into ``out`` (closed, open)."""
    next_closed, next_opened = out
    run_on = is_open and atom.joins
    length, rate, whole = atom.length, atom.rate, atom.cost
    later, keeps, need = after.complements, after.keeps, after.need
    kind = RUN_ON if run_on else NEW
    for (used, partial), (costs, trails) in layer.items():
        fresh = used < slots
        uses = run_on or fresh
        skip_costs, skip_trails = _group(next_closed, (used, partial))
        opened_used = used if run_on else used + 1
        use_costs, use_trails = _group(next_opened, (opened_used, partial))
        cuts = not partial and atom.divisible
        for minutes, cost in costs.items():
            trail = trails[minutes]
            if keeps(partial, minutes, cost, slots - used, 0):  # skip the atom
                old = skip_costs.get(minutes)
                if old is None or cost < old:
                    skip_costs[minutes] = cost
                    skip_trails[minutes] = trail
            total, spent = minutes + length, cost + whole
            if uses and keeps(partial, total, spent, slots - opened_used, 1):  # use it whole
                old = use_costs.get(total)
                if old is None or spent < old:
                    use_costs[total] = spent
                    use_trails[total] = (kind, j, length, trail)
            if not cuts:
                continue
            # the partial atom: as many minutes as whole later atoms can complement
            left = need - minutes
            low = bisect.bisect_left(later, left - length + 1)
            high = bisect.bisect_right(later, left - 1)
            for rest in later[low:high]:
                part = left - rest
                spent = cost + part * rate
                if uses and keeps(1, minutes + part, spent, slots - opened_used, 0):
                    head = (opened_used, 1)
                    _relax(next_closed, head, minutes + part, spent, (kind + _HEAD, j, part, trail))
                if fresh and keeps(1, minutes + part, spent, slots - used - 1, 1):
                    tail = (NEW_TAIL, j, part, trail)
                    _relax(next_opened, (used + 1, 1), minutes + part, spent, tail)


def cheapest(atoms: Sequence[Atom], need: int, slots: int) -> tuple[float, Trail] | None:
    """The cheapest trail delivering exactly ``need`` minutes in at most ``slots`` windows.

    Searches under a rising ceiling on the cost: from just above the cheapest conceivable
    cost (windows ignored) up to the cost of a plan found quickly (:func:`upper_bound`),
    then without one. Low ceilings prune most states, and the first pass that finds a plan
    finds the cheapest. None when no plan delivers exactly ``need`` minutes (which must not
    be more than the atoms hold: see :func:`most_minutes`).
    """
    afters = _afters(atoms, need, slots)
    start = afters[0]
    floor = max(start.cheapest_rest(need), start.level * need - start.gains[slots][0])
    for ceiling in _ceilings(floor, upper_bound(atoms, need, slots)):
        for after in afters:
            after.ceiling = ceiling
        found = _search(atoms, need, slots, afters)
        if found is not None:
            return found
    return None


def _ceilings(floor: float, top: float) -> list[float]:
    """Rising cost ceilings from just above ``floor`` to ``top``, then none (infinity)."""
    slack = 1e-7 * max(1.0, abs(floor), abs(top) if math.isfinite(top) else 0.0)
    if not math.isfinite(top):  # no plan found quickly: a few guesses, then no ceiling
        margin = 0.02 * max(1.0, abs(floor))
        return [*(floor + margin * 2**k + slack for k in range(8)), math.inf]
    ceilings, margin = [], (top - floor) / 16
    while margin > slack and floor + margin < top:
        ceilings.append(floor + margin + slack)
        margin *= 2
    return [*ceilings, top + slack, math.inf]


def _search(
    atoms: Sequence[Atom], need: int, slots: int, afters: list[_After]
) -> tuple[float, Trail] | None:
    """One pass of the programme under the ceiling set in ``afters``."""
    closed: Layer = {(0, 0): ({0: 0.0}, {0: None})}
    opened: Layer = {}
    for j, atom in enumerate(atoms):
        out: tuple[Layer, Layer] = ({}, {})
        _step(atom, j, closed, slots, afters[j + 1], out, is_open=False)
        _step(atom, j, opened, slots, afters[j + 1], out, is_open=True)
        closed, opened = ({key: group for key, group in layer.items() if group[0]} for layer in out)
    finals = [
        (costs[need], used, trails[need])
        for layer in (closed, opened)
        for (used, _), (costs, trails) in layer.items()
        if need in costs
    ]
    if not finals:
        return None
    best = min(cost for cost, _, _ in finals)
    # among plans as cheap (to rounding), the one with the fewest windows
    tolerance = 1e-9 * max(1.0, abs(best))
    cost, _, trail = min(
        (item for item in finals if item[0] <= best + tolerance), key=lambda item: item[1]
    )
    return cost, trail


def most_minutes(atoms: Sequence[Atom], slots: int) -> int:
    """The most minutes of charging that at most ``slots`` windows can hold."""
    closed = [0] + [-1] * slots  # best total with that many windows, -1: unreachable
    opened = [-1] * (slots + 1)
    for atom in atoms:
        next_closed = [max(shut, open_) for shut, open_ in zip(closed, opened, strict=True)]
        next_opened = [-1] * (slots + 1)
        for used in range(slots + 1):
            if atom.joins and opened[used] >= 0:
                next_opened[used] = opened[used] + atom.length
            start = closed[used] if atom.joins else max(closed[used], opened[used])
            if used < slots and start >= 0:
                next_opened[used + 1] = max(next_opened[used + 1], start + atom.length)
        closed, opened = next_closed, next_opened
    return max(closed + opened)


def _best_at(atoms: Sequence[Atom], level: float, slots: int) -> list[list[int]]:
    """The windows of whole atoms that gain most when each minute is worth ``level``.

    The Lagrangian relaxation of the minutes asked for: no count of minutes, only a price
    per minute. Returns each window as the indices of its atoms.
    """
    lost = -math.inf
    closed = [0.0] + [lost] * slots  # best gain with that many windows
    opened = [lost] * (slots + 1)
    closed_trails: list[Any] = [None] * (slots + 1)
    opened_trails: list[Any] = [None] * (slots + 1)
    for j, atom in enumerate(atoms):
        gain = level * atom.length - atom.cost
        next_closed, next_closed_trails = closed[:], closed_trails[:]
        next_opened = [lost] * (slots + 1)
        next_opened_trails: list[Any] = [None] * (slots + 1)
        for used in range(slots + 1):
            if opened[used] > next_closed[used]:
                next_closed[used], next_closed_trails[used] = opened[used], opened_trails[used]
            if atom.joins and opened[used] > lost:
                next_opened[used] = opened[used] + gain
                next_opened_trails[used] = (j, False, opened_trails[used])
            if used == slots:
                continue
            start, trail = closed[used], closed_trails[used]
            if not atom.joins and opened[used] > start:
                start, trail = opened[used], opened_trails[used]
            if start > lost and start + gain > next_opened[used + 1]:
                next_opened[used + 1] = start + gain
                next_opened_trails[used + 1] = (j, True, trail)
        closed, closed_trails = next_closed, next_closed_trails
        opened, opened_trails = next_opened, next_opened_trails
    best = max(range(2 * slots + 2), key=lambda k: (closed + opened)[k])
    trail = (closed_trails + opened_trails)[best]
    steps: list[tuple[int, bool]] = []
    while trail is not None:
        index, new, trail = trail
        steps.append((index, new))
    windows: list[list[int]] = []
    for index, new in reversed(steps):
        if new:
            windows.append([index])
        else:
            windows[-1].append(index)
    return windows


def upper_bound(atoms: Sequence[Atom], need: int, slots: int) -> float:
    """The cost of a good plan found quickly, or infinity: a ceiling for :func:`cheapest`.

    Finds the price levels just below and just above which the best windows (a Lagrangian
    relaxation: each minute worth the level, no count of minutes) hold ``need`` minutes,
    then grows the first with the cheapest neighbouring minutes, and cuts the second down
    from its dearest edges. The cheaper result bounds the optimum from above.
    """
    levels = sorted({atom.rate for atom in atoms})
    below: list[list[int]] = []
    above: list[list[int]] | None = None
    low, high = 0, len(levels) - 1
    while low <= high:
        middle = (low + high) // 2
        windows = _best_at(atoms, levels[middle] + 1e-9 * (1 + abs(levels[middle])), slots)
        if sum(atoms[j].length for window in windows for j in window) >= need:
            above, high = windows, middle - 1
        else:
            below, low = windows, middle + 1
    grown = _grown_cost(atoms, below, need, slots)
    return grown if above is None else min(grown, _trimmed_cost(atoms, above, need))


def _grown_cost(atoms: Sequence[Atom], windows: list[list[int]], need: int, slots: int) -> float:
    """The cost of ``windows`` grown to ``need`` minutes by the cheapest minutes allowed."""
    taken = [0] * len(atoms)
    for window in windows:
        for j in window:
            taken[j] = atoms[j].length
    count, deficit = len(windows), need - sum(taken)
    while deficit > 0:
        best: tuple[float, int, int] | None = None
        for j, atom in enumerate(atoms):
            if taken[j] or (not atom.divisible and atom.length > deficit):
                continue
            touching = (atom.joins and taken[j - 1] == atoms[j - 1].length) + (
                j + 1 < len(atoms) and atoms[j + 1].joins and taken[j + 1] > 0
            )
            if (touching or count < slots) and (best is None or atom.rate < best[0]):
                best = (atom.rate, j, touching)
        if best is None:
            return math.inf
        _, j, touching = best
        taken[j] = min(deficit, atoms[j].length)
        deficit -= taken[j]
        count += 1 - touching if taken[j] == atoms[j].length else int(not touching)
    return math.fsum(
        atom.cost if minutes == atom.length else minutes * atom.rate
        for atom, minutes in zip(atoms, taken, strict=True)
        if minutes
    )


def _trimmed_cost(atoms: Sequence[Atom], windows: list[list[int]], need: int) -> float:
    """The cost of ``windows`` cut down to ``need`` minutes from their dearest edges."""
    used = [[[j, atoms[j].length] for j in window] for window in windows]
    excess = sum(atoms[j].length for window in windows for j in window) - need
    while excess > 0:
        edges = [
            (atoms[window[end][0]].rate, index, end)
            for index, window in enumerate(used)
            if window
            for end in ((0, -1) if len(window) > 1 else (0,))
            if atoms[window[end][0]].divisible or window[end][1] <= excess
        ]
        if not edges:
            return math.inf
        _, index, end = max(edges)
        edge = used[index][end]
        cut = min(excess, edge[1])
        edge[1] -= cut
        excess -= cut
        if edge[1] == 0:
            del used[index][end]
    return math.fsum(
        atoms[j].cost if minutes == atoms[j].length else minutes * atoms[j].rate
        for window in used
        for j, minutes in window
    )


def spans(atoms: Sequence[Atom], trail: Trail) -> list[tuple[int, int, float]]:
    """The windows a trail describes, as ``(start, end, cost)`` in time order."""
    steps: list[tuple[int, int, int]] = []
    while trail is not None:
        kind, index, minutes, trail = trail
        steps.append((kind, index, minutes))
    found: list[list[Any]] = []  # [start, end, cost]
    for kind, index, minutes in reversed(steps):
        atom = atoms[index]
        cost = atom.cost if kind in (RUN_ON, NEW) else minutes * atom.rate
        if kind in (RUN_ON, RUN_ON_HEAD):
            found[-1][1] = atom.start + minutes
            found[-1][2] += cost
        elif kind == NEW_TAIL:
            found.append([atom.end - minutes, atom.end, cost])
        else:
            found.append([atom.start, atom.start + minutes, cost])
    return [(start, end, cost) for start, end, cost in found]

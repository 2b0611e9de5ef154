"""Functions the generated simulators call: PySD's runtime semantics over arrays of draws.

Every function accepts Python scalars (one value shared by all draws) or numpy arrays of shape
``(n_draws,)`` and returns a scalar when all its inputs are scalars, so that whatever depends on
nothing drawn stays a cheap scalar. The scalar paths reproduce ``pysd.py_backend.functions``
(including its laziness: an IF THEN ELSE evaluates only the branch it takes); the array paths
give, draw by draw, what PySD gives for that draw alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: What Vensim (and PySD) consider zero in ZIDZ, XIDZ and PULSE.
SMALL_VENSIM = 1e-6

_ndarray = np.ndarray


class RuntimeArithmeticError(ArithmeticError):
    """A draw took a branch whose value cannot be computed (PySD would raise too)."""


def ite(condition: Any, if_true: Callable[[], Any], if_false: Callable[[], Any]) -> Any:
    """IF THEN ELSE: lazy for a scalar condition (as PySD), element-wise for an array."""
    if type(condition) is not _ndarray:
        return if_true() if condition else if_false()
    if condition.all():
        return if_true()
    if not condition.any():
        return if_false()
    return np.where(condition, _branch(if_true, condition), _branch(if_false, ~condition))


def _branch(branch: Callable[[], Any], taken: np.ndarray) -> Any:
    try:
        return branch()
    except ZeroDivisionError as exc:
        # Only the draws that take this branch would have failed in PySD; all do here.
        raise RuntimeArithmeticError(
            f"division by zero in a branch taken by a draw: {exc}"
        ) from exc


def zidz(numerator: Any, denominator: Any) -> Any:
    """ZIDZ: ``numerator / denominator``, or 0 where ``|denominator| < 1e-6``."""
    if type(denominator) is not _ndarray:
        if abs(denominator) < SMALL_VENSIM:
            return 0
        return numerator / denominator
    return np.where(np.abs(denominator) < SMALL_VENSIM, 0.0, numerator / denominator)


def xidz(numerator: Any, denominator: Any, x: Any) -> Any:
    """XIDZ: ``numerator / denominator``, or ``x`` where ``|denominator| < 1e-6``."""
    if type(denominator) is not _ndarray:
        if abs(denominator) < SMALL_VENSIM:
            return x
        return numerator / denominator
    return np.where(np.abs(denominator) < SMALL_VENSIM, x, numerator / denominator)


def pulse(t: float, dt: float, start: Any, width: Any) -> Any:
    """PULSE(start, width): 1 while ``start - 1e-6 <= t < start + width``, else 0."""
    if type(start) is not _ndarray and type(width) is not _ndarray:
        return 1 if start - SMALL_VENSIM <= t < start + width else 0
    return ((start - SMALL_VENSIM <= t) & (t < start + width)).astype(float)


def pulse_train(t: float, dt: float, start: Any, repeat: Any, width: Any, end: Any) -> Any:
    """PULSE TRAIN(start, width, interval, end) as PySD's ``pulse(..., repeat_time=...)``."""
    if not any(type(a) is _ndarray for a in (start, repeat, width, end)):
        if repeat == 0:
            return 1 if start - SMALL_VENSIM <= t < start + width else 0
        if start <= t and t < end:
            return 1 if (t - start + SMALL_VENSIM) % repeat < width else 0
        return 0
    single = (start - SMALL_VENSIM <= t) & (t < start + width)
    with np.errstate(all="ignore"):
        phase = np.remainder(t - start + SMALL_VENSIM, np.where(repeat == 0, 1.0, repeat))
    train = (start <= t) & (t < end) & (phase < width)
    return np.where(repeat == 0, single, train).astype(float)


def step(t: float, dt: float, height: Any, start: Any) -> Any:
    """STEP(height, start): ``height`` once ``t + dt/2 > start``, else 0."""
    return height * (t + dt / 2 > start)


def ramp(t: float, slope: Any, start: Any, finish: Any = None) -> Any:
    """RAMP(slope, start, finish): PySD's ``ramp``."""
    final = t if finish is None else np.minimum(finish, t)
    return (t + SMALL_VENSIM > start) * slope * (final - start)


def integer(x: Any) -> Any:
    """INTEGER: truncation towards zero (an ``int`` for a scalar, as PySD)."""
    if type(x) is not _ndarray:
        return int(x)
    return np.trunc(x)


def lookup(xs: np.ndarray, ys: np.ndarray, x: Any) -> Any:
    """Linear interpolation in a lookup table, held at the end values outside it (PySD)."""
    if type(x) is not _ndarray:
        return float(np.interp(x, xs, ys))
    return np.interp(x, xs, ys)


def lookup_hold_backward(xs: np.ndarray, ys: np.ndarray, x: Any) -> Any:
    """Step lookup: the y of the last point at or before x (ends held outside the table)."""
    index = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 1)
    value = ys[index]
    return float(value) if type(x) is not _ndarray else value


def lookup_extrapolate(xs: np.ndarray, ys: np.ndarray, x: Any) -> Any:
    """Linear interpolation, extrapolated linearly outside the table (XMILE lookups)."""
    value = np.interp(x, xs, ys)
    low = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    high = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    value = np.where(x < xs[0], low, np.where(x > xs[-1], high, value))
    return float(value) if type(x) is not _ndarray else value


def time_path(xs: np.ndarray, ys: np.ndarray, t: float) -> Any:
    """A time path's value at model time ``t`` (PySD's ``np.interp`` of a pandas Series).

    ``xs``: the path's times (model time, strictly increasing). ``ys``: shape ``(len(xs),)``
    for a path shared by all draws (returns a float), or ``(n_draws, len(xs))`` for one path
    per draw (returns shape ``(n_draws,)``; Fortran order keeps its columns contiguous). Per
    draw the value is ``np.interp(t, xs, ys[i])`` to the bit: the segment is found once, then
    interpolated with numpy's own formula, held at the end values outside ``xs``.
    """
    if ys.ndim == 1:
        return float(np.interp(t, xs, ys))
    last = len(xs) - 1
    j = int(np.searchsorted(xs, t, side="right")) - 1  # xs[j] <= t < xs[j + 1]
    if j < 0:
        return ys[:, 0]
    if j >= last:
        return ys[:, last]
    x0 = xs[j]
    if x0 == t:
        return ys[:, j]
    y0 = ys[:, j]
    slope = (ys[:, j + 1] - y0) / (xs[j + 1] - x0)
    return slope * (t - x0) + y0


def delay_order(order: int, dt: float, delay_time: Any) -> Any:
    """PySD's order reduction, per draw: lower the order while ``order * dt > delay_time``."""
    times = np.asarray(delay_time, dtype=float)
    orders = np.full(times.shape, int(order))
    while True:
        lower = orders * dt > times
        if not lower.any():
            break
        orders = np.where(lower, orders - 1, orders)
    if (orders < 1).any():
        raise RuntimeArithmeticError("a delay time is shorter than the time step")
    return orders if orders.ndim else int(orders)


def delay_init(order: int, orders: Any, init_value: Any, delay_time: Any, n: int) -> np.ndarray:
    """State of a DELAY (``order`` rows, the active ones last) at initialisation."""
    value = np.broadcast_to(np.asarray(init_value * delay_time, dtype=float), (n,))
    state = np.zeros((order, n))
    active = np.arange(order)[:, None] >= order - np.broadcast_to(orders, (n,))[None, :]
    state[:] = np.where(active, value[None, :], 0.0)
    return state


def delay_ddt(state: np.ndarray, orders: Any, value_in: Any, delay_time: Any) -> np.ndarray:
    """Derivative of a DELAY's state (PySD's ``Delay.ddt`` with per-draw orders)."""
    order = state.shape[0]
    n = state.shape[1]
    outflows = state / delay_time
    first = order - np.broadcast_to(orders, (n,))
    rows = np.arange(order)[:, None]
    shifted = np.zeros_like(outflows)
    shifted[1:] = outflows[:-1]
    inflows = np.where(rows == first[None, :], value_in, np.where(rows > first, shifted, 0.0))
    return (inflows - outflows) * orders

"""Projecting cycle-to-date usage to the end of the cycle, since the bill is for the whole cycle.

Method, per device:
- elapsed-days scaling: `ctd * active_days_in_cycle / active_days_so_far`, where the days are
  counted from the later of the cycle start and the device's activation (at least one day, so
  that a device a few hours old is not scaled by a huge factor);
- with earlier cycles' usage (their average, prorated to this cycle's active days), the two are
  blended, the earlier cycles weighing `1 - elapsed/cycle` (most at the start of the cycle,
  nothing at its end);
- never below what the device has used already.
"""

from __future__ import annotations

import numpy as np


def project_usage(
    ctd_mb: np.ndarray,
    days_so_far: np.ndarray,
    days_in_cycle_active: np.ndarray,
    cycle_days: int,
    history_mb: np.ndarray | None = None,
) -> np.ndarray:
    """End-of-cycle usage in MB for each device (float64 arrays of equal length).

    `days_so_far`: active days elapsed (fractional); `days_in_cycle_active`: the days the device
    is active in the whole cycle; `history_mb`: earlier cycles' average full-cycle usage, NaN
    where unknown.
    """
    ctd = np.asarray(ctd_mb, dtype=np.float64)
    so_far = np.maximum(np.asarray(days_so_far, dtype=np.float64), 1.0)
    total = np.maximum(np.asarray(days_in_cycle_active, dtype=np.float64), so_far)
    scaled = ctd * total / so_far
    if history_mb is not None:
        history = np.asarray(history_mb, dtype=np.float64) * total / cycle_days
        weight = np.clip(so_far / total, 0.0, 1.0)
        blended = weight * scaled + (1.0 - weight) * history
        scaled = np.where(np.isnan(history), scaled, blended)
    return np.maximum(scaled, ctd)

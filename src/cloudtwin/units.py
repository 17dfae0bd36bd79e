"""Units used across the package, defined once.

Sizes are bytes and times are seconds everywhere inside cloudtwin; these are the
binary multiples that AWS's limits and prices are written in (its "MB" limits and
"GB" prices are mebibytes and gibibytes), and the month that AWS's monthly prices
assume.
"""

from __future__ import annotations

__all__ = ["GIB", "HOURS_PER_MONTH", "KIB", "MIB", "SECONDS_PER_HOUR", "SECONDS_PER_MONTH"]

KIB = 1024.0
MIB = 1024.0**2
GIB = 1024.0**3

SECONDS_PER_HOUR = 3600.0
HOURS_PER_MONTH = 730.0  # the month behind AWS's monthly prices (365 days x 24 h / 12)
SECONDS_PER_MONTH = HOURS_PER_MONTH * SECONDS_PER_HOUR

"""Exact M/M/c (Erlang C) formulas used to validate the simulators.

A thin re-export: the formulas live in :mod:`cloudtwin.theory`, where users can
import them too. Kept so ``python benchmarks/erlang.py`` and older scripts work.
"""

from __future__ import annotations

from cloudtwin.theory import erlang_b, erlang_c, mmc_mean_response, mmc_mean_wait

__all__ = ["erlang_b", "erlang_c", "mmc_mean_response", "mmc_mean_wait"]


if __name__ == "__main__":  # quick sanity print for c=4, rho=0.9, s=10 ms
    _lam, _s, _c = 360.0, 0.010, 4
    print(
        f"C={erlang_c(_c, _lam * _s):.6f} Wq={mmc_mean_wait(_lam, _s, _c) * 1e3:.4f}ms "
        f"W={mmc_mean_response(_lam, _s, _c) * 1e3:.4f}ms"
    )

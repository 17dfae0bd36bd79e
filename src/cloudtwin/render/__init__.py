"""Renderers for simulation results: terminal summary (rich) and a self-contained HTML report."""

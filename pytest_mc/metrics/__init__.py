"""Metric sources (direct scrapes or Prometheus) behind one interface, a bounded sample store,
and the windowed evaluator that judges plan-time windows ("lag > 60s sustained for 10m")."""

"""Standard-library scripts the eval and gate Jobs run (mounted from a ConfigMap)."""

"""Model tiers: the TGI engine, capacity planner, models lock, manifests and the weight sync."""

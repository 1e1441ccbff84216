"""Offline rendering and testing of a Pulumi program: the mock engine, the render, the rollout plan."""

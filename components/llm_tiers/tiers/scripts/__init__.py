"""Scripts the cluster runs (mounted into pods from a ConfigMap); each is real, tested code."""

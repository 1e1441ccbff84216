"""GuideLLM benchmark Jobs per tier release: manifests (pure) and the Benchmark component."""

"""The preview engine: the mock engine, the offline render, the rollout plan, inventory, replacements and
the API-server validation. Public: render your own program with it (``python -m llm_tiers.preview.render``)."""

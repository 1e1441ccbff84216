"""Entry point of the llm-tiers component provider (PulumiPlugin.yaml): serves every exported component."""

from llm_tiers.provider import main

if __name__ == "__main__":
    main()

"""Quality eval Jobs per tier release and the promotion gate: manifests (pure), scripts and the Evaluation component."""

"""Secret store: KMS, Secrets Manager, External Secrets."""

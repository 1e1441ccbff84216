"""The S3 weight mirror: an in-region copy of every locked revision a tier loads from NVMe or streams from S3."""

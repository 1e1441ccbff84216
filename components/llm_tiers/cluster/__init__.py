"""Cluster: VPC, EKS, system nodes, EFS, and the system capacity check."""

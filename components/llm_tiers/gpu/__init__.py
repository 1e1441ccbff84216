"""GPU capacity: Karpenter NodePools per GPU class, the GPU catalog."""

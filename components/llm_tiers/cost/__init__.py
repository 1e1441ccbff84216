"""What a stack costs: the price tables and the bill."""

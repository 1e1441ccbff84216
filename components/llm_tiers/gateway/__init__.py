"""Gateway: Envoy Gateway, routes, tenant auth and limits."""

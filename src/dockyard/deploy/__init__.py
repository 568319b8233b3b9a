"""Deployment targets rendered from the spec: Compose stacks, pattern services, Kubernetes."""

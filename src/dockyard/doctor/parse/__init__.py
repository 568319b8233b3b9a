"""Parsers that turn Dockerfiles, Compose files and Kubernetes manifests into line-aware values."""

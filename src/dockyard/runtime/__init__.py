"""Runs user code: the model contract, the API service, batching, health, metrics, jobs."""

"""Generations: streamed outputs with continuous batching, cancellation and backpressure."""

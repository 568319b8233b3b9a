"""An OpenAI-compatible API on the same service: chat, completions, embeddings, models."""

"""Images: plan, Dockerfile, lock, wheelhouse, context, the engine adapter, run and gate."""

"""Model-as-service: a router in front of model versions (A/B weights, canary, sticky, shadow).

Modules, from pure to I/O: policy (balancing, sticky hashing), table (what is in rotation),
weights (validating updates, the weights file), stack (the Compose services it needs), then
upstream, shadow, control, app, server, local. Kept import-free so that `stack` stays cheap.
"""

"""Pure secret detectors (values, names, token formats, file paths), below `spec`.

The spec refuses secrets in `[env]`, `dockyard build` keeps secret files out of the context and
the doctor's rules report them: all three use these detectors, so they never disagree.
"""

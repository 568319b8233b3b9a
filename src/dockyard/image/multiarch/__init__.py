"""One spec, several architectures: the building machine's image comes from the engine; the
others (`build.platforms`) are assembled here from wheels, without running anything built for
them, and pushed with it as one multi-platform image (an OCI image index).

`platform` names the targets, `pins` locks a wheel per platform, `base` makes a foreign base
from Debian's packages, `venv` installs the wheels into a staged venv, `image` writes the image
as an OCI layout, `publish` pushes it and the index.
"""

"""``python -m generator.cli``: the ``disclose`` command (the desk runs its preview build so)."""

from . import main

main()

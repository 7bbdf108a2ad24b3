"""``python -m autograd_mini``: the ``autograd-mini`` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

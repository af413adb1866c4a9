"""`python -m background_pipelines.cli`: the same as the `bgp` console script."""

import sys

from background_pipelines.cli import main

sys.exit(main())

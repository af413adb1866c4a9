import sys

from background_pipelines.cli import main

sys.exit(main())

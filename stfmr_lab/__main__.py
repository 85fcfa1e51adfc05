import sys

from stfmr_lab.cli import main

sys.exit(main())

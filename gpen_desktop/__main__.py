import sys

from gpen_desktop.cli import main

sys.exit(main())

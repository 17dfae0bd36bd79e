"""``python -m cloudtwin``: the command line."""

from cloudtwin.entry import main

main()

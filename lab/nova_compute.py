"""Runs nova-compute without Debian's nova-compute package (which pulls in a hypervisor)."""
import sys

from nova.cmd.compute import main

if __name__ == "__main__":
    sys.argv[0] = "nova-compute"
    sys.exit(main())

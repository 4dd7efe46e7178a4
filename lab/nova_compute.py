"""Runs nova-compute without Debian's nova-compute package (which pulls in a hypervisor).

The fake virt driver keeps its guests in memory, so a restarted nova-compute would find none of the servers it ran
and stop them; a hypervisor keeps its guests through a nova-compute restart (an upgrade's). The guests are kept in
fake-guests.json under the compute's instances_path, read back when the driver starts.
"""
import json
import os
import sys

import nova.conf
from nova.cmd.compute import main
from nova.virt import fake

# The driver calls that change its guests: each writes them out once it returns.
_CHANGES = ("spawn", "destroy", "cleanup", "power_off", "power_on", "reboot", "pause", "unpause", "suspend", "resume",
            "rescue", "unrescue", "finish_migration", "finish_revert_migration", "post_live_migration_at_destination")


def _guests_file():
    return os.path.join(nova.conf.CONF.instances_path, "fake-guests.json")


def _save(driver):
    path = _guests_file()
    with open(path + ".tmp", "w") as f:
        json.dump({u: {"name": g.name, "state": g.state} for u, g in driver.instances.items()}, f)
    os.replace(path + ".tmp", path)


def _keep_guests():
    init = fake.FakeDriver.__init__

    def load(self, *args, **kwargs):
        init(self, *args, **kwargs)
        try:
            with open(_guests_file()) as f:
                for uuid, g in json.load(f).items():
                    self.instances[uuid] = fake.FakeInstance(g["name"], g["state"], uuid)
        except FileNotFoundError:
            pass

    fake.FakeDriver.__init__ = load
    for name in _CHANGES:
        call = getattr(fake.FakeDriver, name, None)
        if call is None:
            continue

        def saving(self, *args, _call=call, **kwargs):
            try:
                return _call(self, *args, **kwargs)
            finally:
                _save(self)

        setattr(fake.FakeDriver, name, saving)


if __name__ == "__main__":
    sys.argv[0] = "nova-compute"
    _keep_guests()
    sys.exit(main())

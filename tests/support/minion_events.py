"""Fire events as a running minion does, from a separate process (as salt-call would, with the
minion's config and key), for payloads too large for a command line (1 MB strings).

    python -m tests.support.minion_events MINION_CONFIG_FILE EVENTS.json

EVENTS.json is a list of {"tag", "data", "form"}: form "single" sends through
event.fire_master (the envelope Salt authenticates: data['id'] is this minion), form "batch"
hands the minion daemon a batch of events (the form beacons use), whose data the master fires
as it is. Prints one JSON list of the results.
"""
import json
import sys

import salt.client
import salt.config


def main(config_file, events_file):
    with open(events_file, encoding="utf-8") as f:
        events = json.load(f)
    opts = salt.config.minion_config(config_file)
    caller = salt.client.Caller(mopts=opts)
    results = []
    for ev in events:
        if ev["form"] == "single":
            results.append(caller.cmd("event.fire_master", ev["data"], ev["tag"]))
        else:
            batch = {"data": None, "tag": None, "pretag": None,
                     "events": [{"tag": ev["tag"], "data": ev["data"]}]}
            results.append(caller.cmd("event.fire", batch, "fire_master"))
    print(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])

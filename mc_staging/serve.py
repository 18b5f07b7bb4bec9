"""Process entry point: ``python -m mc_staging.serve {region,glb,control} --state-dir DIR``.

`mc-staging up` starts one process per component with this module; ports and the time scale
come from the state directory, so a crashed region restarts with the same identity.
"""

from __future__ import annotations

import argparse
import json

from mc_staging.statedir import StateDir
from mc_staging.wiring import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mc_staging.serve")
    parser.add_argument("component", choices=["region", "glb", "control"])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    state_dir = StateDir(args.state_dir)
    settings = json.loads(state_dir.settings_file.read_text())
    ports = state_dir.ports()
    if args.component == "region":
        from mc_staging.region_app import RegionServer

        serve(RegionServer(state_dir, args.region).app(), ports[f"region-{args.region}"])
    elif args.component == "glb":
        from mc_staging.glb_app import GlbServer

        serve(GlbServer(state_dir).app(), ports["glb"])
    else:
        from mc_staging.control_app import ControlServer

        server = ControlServer(
            state_dir, float(settings["time_scale"]), float(settings["sample_interval_seconds"])
        )
        serve(server.app(), ports["control"])


if __name__ == "__main__":
    main()

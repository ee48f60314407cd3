"""The seed's one-shot job (andersen-ev 0.1.4, its own venv): log in, read the charger, exit.

Run by benchmarks/cold.py with the seed venv's python, as a whole process whose CPU is
counted: ``python seed_cold.py '<JSON line of python -m andersen_ev.testing>'``. This is
what a cron job written for 0.1 does each time, since 0.1 keeps no tokens.
"""

import json
import sys

from andersen_ev import andersen, auth  # the SEED package (0.1.4), not this one


def main() -> None:
    line = json.loads(sys.argv[1])
    url = line["endpoints"]["graphql_url"]
    auth.ANDERSEN_GRAPHQL_PROD = url
    andersen.ANDERSEN_GRAPHQL_PROD = url
    client = andersen.AndersenA2()
    client.authenticate(line["email"], line["password"])
    client.get_device(line["device_id"])  # 0.1.4 reads the status with the device


if __name__ == "__main__":
    main()

"""The seed's sync client (andersen-ev 0.1.4, its own venv) timed against the emulator.

Run by benchmarks/run.py with the seed venv's python:
``python seed_client.py '<JSON line of python -m andersen_ev.testing>' N``.
The seed's module constants are pointed at the emulator; its own login (pycognito) reaches
the emulator's Cognito through botocore's AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER and
verifies the tokens with the emulator's JWKS (COGNITO_JWKS), both set by the caller.
Prints one JSON object: CPU seconds per get_device and wall seconds for N one by one.
"""

import json
import statistics
import sys
import time

from andersen_ev import andersen, auth  # the SEED package (0.1.4), not this one


def main() -> None:
    line = json.loads(sys.argv[1])
    count = int(sys.argv[2])
    url = line["endpoints"]["graphql_url"]
    auth.ANDERSEN_GRAPHQL_PROD = url
    andersen.ANDERSEN_GRAPHQL_PROD = url
    client = andersen.AndersenA2()
    client.authenticate(line["email"], line["password"])
    device_id = line["device_id"]
    for _ in range(20):
        client.get_device(device_id)
    rounds = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(count // 5):
            client.get_device(device_id)
        rounds.append((time.process_time() - start) / (count // 5))
    start = time.perf_counter()
    for _ in range(count):
        client.get_device(device_id)
    wall = time.perf_counter() - start
    print(json.dumps({"cpu_per_get_device": statistics.median(rounds), "wall_sequential": wall}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench/cli/run.sh's helper: prepare users with two sessions each over HTTP, and check afterwards that every session is refused."""
import http.client
import json
import sys
import threading
from urllib.parse import urlparse

PASSWORD = "bench-user-password-1"


def connection(url):
    parsed = urlparse(url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)


def post(conn, path, body):
    conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def prepare(url, users, threads, ids_path, tokens_path):
    ids, tokens, lock = [], [], threading.Lock()

    def work(start):
        conn = connection(url)
        for i in range(start, users, threads):
            email = f"bulk-{i}@bench.test"
            status, body = post(conn, "/v1/auth/register", {"email": email, "password": PASSWORD})
            assert status == 201, (status, body)
            user_id = body["user"]["id"]
            mine = []
            for _ in range(2):
                status, body = post(conn, "/v1/auth/login", {"email": email, "password": PASSWORD})
                assert status == 200, (status, body)
                mine.append(body["token"])
            with lock:
                ids.append(user_id)
                tokens.extend(mine)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    open(ids_path, "w").write("\n".join(ids) + "\n")
    open(tokens_path, "w").write("\n".join(tokens) + "\n")
    print(f"prepared {len(ids)} users and {len(tokens)} sessions")


def check(url, threads, tokens_path):
    tokens = [line.strip() for line in open(tokens_path) if line.strip()]
    holding, lock = [], threading.Lock()

    def work(start):
        conn = connection(url)
        for token in tokens[start::threads]:
            conn.request("GET", "/v1/auth/session", headers={"authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            if response.status != 401:
                with lock:
                    holding.append(response.status)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"sessions checked:     {len(tokens)}; refused: {len(tokens) - len(holding)}; still holding: {len(holding)}")
    sys.exit(1 if holding else 0)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        check(sys.argv[2], int(sys.argv[3]), sys.argv[4])

#!/usr/bin/env python3
"""bench/cli/run.sh's helper: prepare users with two sessions each over HTTP, check afterwards that every session is
refused, and time revoke-all of one user with many sessions (both routes)."""
import http.client
import json
import statistics
import sys
import threading
import time
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


def revoke_all(url, sessions, threads, rounds, admin_email, admin_password):
    """Signs one user in `sessions` times, then times one revoke-all (server answer to answer); `rounds` times per route."""
    conn = connection(url)
    status, body = post(conn, "/v1/auth/login", {"email": admin_email, "password": admin_password})
    assert status == 200, (status, body)
    admin = body["token"]
    email = f"many-sessions-{time.time_ns()}@bench.test"
    status, body = post(conn, "/v1/auth/register", {"email": email, "password": PASSWORD})
    assert status == 201, (status, body)
    user_id = body["user"]["id"]

    def sign_in():
        tokens, lock = [], threading.Lock()

        def work(count):
            c = connection(url)
            for _ in range(count):
                status, body = post(c, "/v1/auth/login", {"email": email, "password": PASSWORD})
                assert status == 200, (status, body)
                with lock:
                    tokens.append(body["token"])

        workers = [threading.Thread(target=work, args=(sessions // threads + (1 if n < sessions % threads else 0),)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return tokens

    def timed(method, path, token):
        start = time.perf_counter()
        conn.request(method, path, headers={"authorization": f"Bearer {token}"})
        response = conn.getresponse()
        answer = json.loads(response.read() or b"{}")
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status == 200, (response.status, answer)
        assert answer["revoked"] == sessions, answer
        return elapsed

    for name, method, path in [("DELETE /v1/admin/users/{id}/sessions", "DELETE", f"/v1/admin/users/{user_id}/sessions"),
                               ("POST /v1/sessions/revoke-all", "POST", "/v1/sessions/revoke-all")]:
        times = []
        for _ in range(rounds):
            tokens = sign_in()
            times.append(timed(method, path, admin if method == "DELETE" else tokens[0]))
        print(f"revoke-all of {sessions} sessions, {name}: median {statistics.median(times):.1f} ms, "
              f"min {min(times):.1f}, max {max(times):.1f} ({rounds} rounds; target < 50 ms)")


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif sys.argv[1] == "revoke-all":
        revoke_all(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7])
    else:
        check(sys.argv[2], int(sys.argv[3]), sys.argv[4])

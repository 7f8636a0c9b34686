#!/usr/bin/env python3
"""bench/scale/run.sh's bulk step: deactivates BULK_USERS of the seeded users through POST /v1/admin/users/bulk, in
requests of BATCH users one after the other on one connection (as `tessera users deactivate --from-file` sends them),
timed from the outside, first request sent to last answer read; then checks that a sample of the deactivated users'
tokens is refused (401) and a sample of other users' tokens still holds (200).

    bulk.py URL ADMIN_TOKEN_FILE USER_IDS TOKENS SESSIONS_PER_USER BULK_USERS SAMPLE BATCH

USER_IDS and TOKENS are the seed's user-ids.txt and tokens.txt: user n has the tokens of lines n x SESSIONS_PER_USER
onwards. The users taken are spread over the whole list (every k-th), so are the samples. Exits 1 when a request fails,
a user is not done, the sessions ended are not all of theirs, or a sample answers otherwise than expected."""
import http.client
import json
import statistics
import sys
import time
from urllib.parse import urlparse


def connection(url):
    parsed = urlparse(url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)


def spread(items, count):
    """count items taken evenly over the whole list."""
    return [items[i * len(items) // count] for i in range(count)]


def statuses(url, token_list):
    conn = connection(url)
    answers = []
    for token in token_list:
        conn.request("GET", "/v1/auth/session", headers={"authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        answers.append(response.status)
    conn.close()
    return answers


def main():
    url, admin_token_file, ids_path, tokens_path = sys.argv[1:5]
    per_user, bulk_users, sample, batch = (int(value) for value in sys.argv[5:9])
    admin_token = open(admin_token_file).read().strip()
    ids = [line.strip() for line in open(ids_path) if line.strip()]
    tokens = [line.strip() for line in open(tokens_path) if line.strip()]
    if len(tokens) != len(ids) * per_user:
        sys.exit(f"bulk: {len(tokens)} tokens for {len(ids)} users x {per_user} sessions")
    if bulk_users * 2 > len(ids):
        sys.exit(f"bulk: {bulk_users} users to deactivate out of {len(ids)}: at most half, so that others are left to check")

    step = len(ids) // bulk_users
    chosen = list(range(0, step * bulk_users, step))  # user numbers
    others = [n + 1 for n in chosen]  # never chosen: step >= 2

    conn = connection(url)
    headers = {"content-type": "application/json", "authorization": f"Bearer {admin_token}"}
    times, done, ended = [], 0, 0
    started = time.perf_counter()
    for start in range(0, len(chosen), batch):
        body = json.dumps({"action": "deactivate", "userIds": [ids[n] for n in chosen[start:start + batch]]})
        sent = time.perf_counter()
        conn.request("POST", "/v1/admin/users/bulk", body, headers)
        response = conn.getresponse()
        answer = response.read()
        times.append(time.perf_counter() - sent)
        if response.status != 200:
            sys.exit(f"bulk: POST /v1/admin/users/bulk answered {response.status}: {answer[:300]!r}")
        for result in json.loads(answer)["results"]:
            if not result["ok"]:
                sys.exit(f"bulk: user {result['userId']} not done: {result.get('code')}")
            done += 1
            ended += result["revokedSessions"]
    elapsed = time.perf_counter() - started
    conn.close()

    print(f"bulk deactivation of {done:,} users ({ended:,} sessions ended), {len(times)} requests of {batch}, one after "
          f"the other: {elapsed:.2f} s from the outside (target < 10 s); per request median "
          f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
    if done != bulk_users or ended != bulk_users * per_user:
        sys.exit(f"bulk: expected {bulk_users} users and {bulk_users * per_user} sessions ended")

    # One token of each sampled user, a different session of theirs from one user to the next.
    revoked = [tokens[n * per_user + i % per_user] for i, n in enumerate(spread(chosen, min(sample, len(chosen))))]
    holding = [tokens[n * per_user + i % per_user] for i, n in enumerate(spread(others, min(sample, len(others))))]
    revoked_answers = statuses(url, revoked)
    holding_answers = statuses(url, holding)
    refused = revoked_answers.count(401)
    kept = holding_answers.count(200)
    print(f"afterwards: {refused} of {len(revoked)} deactivated users' tokens refused (401), "
          f"{kept} of {len(holding)} other users' tokens still holding (200)")
    if refused != len(revoked) or kept != len(holding):
        sys.exit("bulk: a sampled token answered otherwise: "
                 f"deactivated {sorted(set(revoked_answers))}, others {sorted(set(holding_answers))}")


if __name__ == "__main__":
    main()

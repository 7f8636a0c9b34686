using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>A bulk deactivation of 1,000 users, interrupted by SIGKILL of the node that runs it.</summary>
public sealed class BulkInterruptedTests : ClusterTest
{
    private const int Users = 1000;

    /// <summary>Users whose session B and C hold in memory before the bulk starts (the bulk takes them first).</summary>
    private const int Cached = 40;

    [Fact(Timeout = 300_000)]
    public async Task Every_user_of_a_bulk_deactivation_killed_half_way_is_either_fully_processed_or_untouched()
    {
        var cluster = Cluster;
        var (a, b, c) = (cluster.A, cluster.B, cluster.C);
        var users = await InsertUsersAsync(cluster);
        foreach (var user in users.Take(Cached))
        {
            await cluster.WarmAsync(user.Session, b, c);
        }

        // The bulk runs on A; A is killed once a few users are done, long before all of them can be.
        var bulk = a.SendAsync(HttpMethod.Post, "/v1/admin/users/bulk", cluster.Admin.Token,
            new { action = "deactivate", userIds = users.Select(u => u.Id).ToArray(), reason = "bulk interrupted by a crash" },
            timeout: TimeSpan.FromMinutes(4));
        var ids = users.Select(u => u.Id).ToArray();
        var started = Stopwatch.GetTimestamp();
        long done = 0;
        while (Ms.Since(started) < 60_000 && !bulk.IsCompleted)
        {
            done = await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM users WHERE id = ANY(@ids) AND status = 'deactivated'", ("ids", ids));
            if (done >= Cached + 10)
            {
                break;
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        var killedAt = Stopwatch.GetTimestamp();
        await a.KillAsync();
        var answer = await bulk;
        Findings.Measure(string.Create(CultureInfo.InvariantCulture,
            $"bulk deactivation on A killed {Ms.Between(started, killedAt):F0} ms after it started, with {done} user(s) seen deactivated; its caller got: {answer.Status} {answer.Body[..Math.Min(answer.Body.Length, 120)]}"));
        Assert.True(answer.Status == 0, $"the bulk finished before the kill ({answer}): nothing was interrupted");

        var restartedAt = Stopwatch.GetTimestamp();
        a.Start();
        await a.WaitUntilHealthyAsync(TesseraCluster.StartTimeout);
        Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"A restarted and Healthy {Ms.Since(restartedAt):F0} ms after it was started again"));

        // Straight from PostgreSQL: each user either fully processed or untouched.
        var states = await ReadStatesAsync(cluster, users);
        var processed = states.Where(s => s.Status == "deactivated").ToList();
        var untouched = states.Where(s => s.Status == "active").ToList();
        foreach (var state in states)
        {
            var fullyProcessed = state is { Status: "deactivated", LiveSessions: 0, EndedByDeactivation: 1, DeactivatedEvents: 1, RevokedEventsNamingSession: 1 }
                && state.DeactivatedEventNamesSession && state.SecurityVersionMoved;
            var untouchedFully = state is { Status: "active", LiveSessions: 1, EndedByDeactivation: 0, DeactivatedEvents: 0, RevokedEventsNamingSession: 0 }
                && !state.SecurityVersionMoved;
            Findings.Check(fullyProcessed || untouchedFully, $"user {state.Id} is half processed: {state}");
        }

        Findings.Measure($"after the crash: {processed.Count} user(s) fully processed, {untouched.Count} untouched, {Users - processed.Count - untouched.Count} other");
        Findings.Check(processed.Count > Cached && processed.Count < Users, $"{processed.Count} processed: the kill did not land half way");

        // And every node agrees with the store: processed users' sessions are refused, untouched ones' accepted.
        var byId = users.ToDictionary(u => u.Id);
        var sample = processed.Take(Cached + 20).Concat(untouched.Take(30)).ToList();
        foreach (var node in cluster.Nodes)
        {
            foreach (var state in sample)
            {
                var check = await node.WhoAmIAsync(byId[state.Id].Session.Token);
                var wanted = state.Status == "active" ? 200 : 401;
                Findings.Check(check.Status == wanted, $"{node.Name}: session of {state.Status} user {state.Id} answered {check} (wanted {wanted})");
            }
        }

        Findings.AssertAll();
    }

    private sealed record BulkUser(string Id, string Email, ClusterSession Session);

    private sealed record UserState(
        string Id, string Status, long LiveSessions, long EndedByDeactivation, long DeactivatedEvents, bool DeactivatedEventNamesSession,
        long RevokedEventsNamingSession, bool SecurityVersionMoved);

    /// <summary>
    /// 1,000 users and one session each, written straight into PostgreSQL (hashing and signing in through the API would
    /// take minutes on two cores): each password hash is a copy of a real user's, and each token is made as the server
    /// makes them (32 random bytes, base64url), with its SHA-256 stored, so that the API accepts it.
    /// </summary>
    private static async Task<IReadOnlyList<BulkUser>> InsertUsersAsync(TesseraCluster cluster)
    {
        var template = await cluster.CreateUserAsync(cluster.A, "bulk-template");
        var hash = await cluster.Database.ScalarAsync<string>("SELECT password_hash FROM users WHERE id = @id", ("id", template.Id));
        var users = new List<BulkUser>(Users);
        var tokenHashes = new List<byte[]>(Users);
        for (var i = 0; i < Users; i++)
        {
            var secret = RandomNumberGenerator.GetBytes(32);
            var token = Base64Url.EncodeToString(secret);
            var id = $"usr_{Guid.CreateVersion7():N}";
            users.Add(new BulkUser(id, $"bulk-{i:D4}-{Guid.NewGuid().ToString("N")[..6]}@cluster.test", new ClusterSession(token, $"ses_{Guid.CreateVersion7():N}", id)));
            tokenHashes.Add(SHA256.HashData(secret));
        }

        await using var connection = await cluster.Database.OpenAsync();
        await using (var insertUsers = ClusterDatabase.Command(connection,
                         """
                         INSERT INTO users (id, email, display_name, password_hash, role, status, banned, security_version, created_at, updated_at)
                         SELECT id, email, 'Bulk user', @hash, 'user', 'active', false, 1, date_trunc('milliseconds', now()), date_trunc('milliseconds', now())
                         FROM unnest(@ids, @emails) AS t(id, email)
                         """,
                         ("hash", hash), ("ids", users.Select(u => u.Id).ToArray()), ("emails", users.Select(u => u.Email).ToArray())))
        {
            Assert.Equal(Users, await insertUsers.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        await using (var insertSessions = ClusterDatabase.Command(connection,
                         """
                         INSERT INTO sessions (id, token_hash, user_id, device_name, device_platform, created_at, last_active_at, absolute_expires_at)
                         SELECT id, token_hash, user_id, 'bulk', 'api', date_trunc('milliseconds', now()), date_trunc('milliseconds', now()),
                                date_trunc('milliseconds', now()) + interval '30 days'
                         FROM unnest(@ids, @hashes, @users) AS t(id, token_hash, user_id)
                         """,
                         ("ids", users.Select(u => u.Session.Id).ToArray()), ("hashes", tokenHashes.ToArray()), ("users", users.Select(u => u.Id).ToArray())))
        {
            Assert.Equal(Users, await insertSessions.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        // One of them through the API, to prove the rows are what the server would have written.
        var check = await cluster.B.WhoAmIAsync(users[^1].Session.Token);
        Assert.True(check.Status == 200, $"a session inserted straight into PostgreSQL is not accepted: {check}");
        return users;
    }

    private static async Task<IReadOnlyList<UserState>> ReadStatesAsync(TesseraCluster cluster, IReadOnlyList<BulkUser> users)
    {
        await using var connection = await cluster.Database.OpenAsync();
        await using var command = ClusterDatabase.Command(connection,
            """
            SELECT u.id, u.status,
                   (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL),
                   (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.id = t.session_id AND s.revoke_reason = 'user_deactivated'),
                   (SELECT count(*) FROM audit_events e WHERE e.target_user_id = u.id AND e.action = 'user.deactivated'),
                   EXISTS (SELECT 1 FROM audit_events e WHERE e.target_user_id = u.id AND e.action = 'user.deactivated' AND t.session_id = ANY(e.session_ids)),
                   (SELECT count(*) FROM audit_events e WHERE e.target_user_id = u.id AND e.action = 'session.revoked' AND t.session_id = ANY(e.session_ids)),
                   u.security_version > 1
            FROM unnest(@ids, @sessions) AS t(user_id, session_id)
            JOIN users u ON u.id = t.user_id
            """,
            ("ids", users.Select(u => u.Id).ToArray()), ("sessions", users.Select(u => u.Session.Id).ToArray()));
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var states = new List<UserState>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            states.Add(new UserState(
                reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetBoolean(5), reader.GetInt64(6), reader.GetBoolean(7)));
        }

        Assert.Equal(users.Count, states.Count);
        return states;
    }
}

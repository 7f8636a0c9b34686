using System.Diagnostics;
using System.Globalization;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>Redis stopped (SIGKILL) and started again, empty, on the same port while the cluster serves.</summary>
public sealed class RedisOutageTests() : ClusterTest(new ClusterOptions { OwnRedis = true })
{
    [Fact(Timeout = 240_000)]
    public async Task While_Redis_is_down_a_revoke_holds_on_every_node_and_after_Redis_restarts_the_nodes_recover_by_themselves()
    {
        var cluster = Cluster;
        var user = await cluster.CreateUserAsync(cluster.A, "redis-outage");
        var revokedWhileDown = await cluster.LoginAsync(cluster.B, user);
        var revokedAfter = await cluster.LoginAsync(cluster.C, user);
        var keeper = await cluster.LoginAsync(cluster.A, user);
        await cluster.WarmAsync(revokedWhileDown);
        await cluster.WarmAsync(revokedAfter);

        // Every node watched from before the kill, so that the moment each one fences itself is seen.
        using var watching = new CancellationTokenSource();
        var fencedAt = cluster.Nodes.ToDictionary(n => n.Name, n => WatchUntilAsync(n, r => r.Body != "Healthy", watching.Token));
        var killedAt = Stopwatch.GetTimestamp();
        await cluster.Redis.KillAsync();

        var fenced = await Task.WhenAll(fencedAt.Values).WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
        foreach (var (node, at) in cluster.Nodes.Zip(fenced))
        {
            Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"fence time after Redis was killed, {node.Name}: /readyz left Healthy {Ms.Between(killedAt, at):F0} ms after the kill"));
        }

        // /readyz says so, and no node serves from memory.
        foreach (var node in cluster.Nodes)
        {
            var ready = await node.ReadyzAsync();
            Findings.Check(ready is { Status: 503, Body: "Unhealthy" }, $"/readyz on {node.Name} with Redis down: {ready} (wanted 503 Unhealthy)");
            Findings.Check(await node.MetricAsync("tessera_session_cache_trusted") == 0, $"{node.Name} still trusts its session cache with Redis down");
        }

        // Service goes on, read through to PostgreSQL: checks, and a sign-in (the throttle falls back on the node).
        var hitsBefore = await Task.WhenAll(cluster.Nodes.Select(n => n.MetricAsync("tessera_session_cache_hits_total")));
        foreach (var node in cluster.Nodes)
        {
            for (var i = 0; i < 3; i++)
            {
                var check = await node.WhoAmIAsync(revokedAfter.Token);
                Findings.Check(check.Status == 200, $"with Redis down, {node.Name} answered {check} for a live session");
            }
        }

        var hitsAfter = await Task.WhenAll(cluster.Nodes.Select(n => n.MetricAsync("tessera_session_cache_hits_total")));
        for (var i = 0; i < 3; i++)
        {
            Findings.Check(hitsAfter[i] == hitsBefore[i], $"with Redis down, {cluster.Nodes[i].Name} answered from memory (cache hits {hitsBefore[i]} → {hitsAfter[i]})");
        }

        var login = await cluster.B.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password });
        Findings.Check(login.Status == 200, $"with Redis down, a sign-in on B answered {login}");

        // The revoke: committed in PostgreSQL whatever the answer, and held everywhere once the call returned.
        var revokeStarted = Stopwatch.GetTimestamp();
        var revoke = await cluster.A.DeleteAsync($"/v1/sessions/{revokedWhileDown.Id}", keeper.Token);
        var revokeReturned = Stopwatch.GetTimestamp();
        Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"revoke on A with Redis down answered {revoke.Status} {revoke.Code} after {Ms.Between(revokeStarted, revokeReturned):F0} ms"));
        Findings.Check(revoke.Status is 204 or 503,
            $"the revoke on A with Redis down answered {revoke} (wanted 204, or 503 saying the change is saved but not confirmed on every node: " +
            "RedisInvalidationBus documents InvalidationNotConfirmedException as a 503)");
        var revokedAt = await cluster.Database.ScalarAsync<DateTime?>("SELECT revoked_at FROM sessions WHERE id = @id", ("id", revokedWhileDown.Id));
        Findings.Check(revokedAt is not null, "the revoke made with Redis down is not in PostgreSQL");

        await using (var hammer = new Hammer(revokedWhileDown.Token, cluster.Nodes, tasksPerNode: 1))
        {
            // At least half a second of checks, and at least three on each node however loaded the machine is.
            await Task.Delay(500, TestContext.Current.CancellationToken);
            var enough = await hammer.WaitForAnsweredAsync(cluster.Nodes, count: 3, TimeSpan.FromSeconds(30));
            await hammer.StopAsync();
            var accepted = hammer.Requests.Where(r => r.Status != 401 || r.Code != "session_revoked").ToList();
            Findings.Check(accepted.Count == 0,
                $"with Redis down, {accepted.Count} check(s) of the revoked session after the revoke returned were not 401 session_revoked: " +
                string.Join("; ", accepted.Take(5).Select(r => $"{r.Node} {r.Status} {r.Code}")));
            Findings.Check(enough, "the hammer reached too few checks with Redis down (fewer than 3 on some node within 30 s)");
        }

        // Redis comes back, empty: the nodes find it again and prove the bus again by themselves.
        var restartedAt = Stopwatch.GetTimestamp();
        await cluster.Redis.StartAgainAsync();
        await watching.CancelAsync();
        var recovered = await Task.WhenAll(cluster.Nodes.Select(n => WatchUntilAsync(n, r => r.Body == "Healthy", TestContext.Current.CancellationToken)))
            .WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        foreach (var (node, at) in cluster.Nodes.Zip(recovered))
        {
            Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"recovery after Redis restarted, {node.Name}: Healthy again {Ms.Between(restartedAt, at):F0} ms after the restart"));
            Findings.Check(Ms.Between(restartedAt, at) <= 30_000, $"{node.Name} took {Ms.Between(restartedAt, at):F0} ms to recover (limit 30 s)");
        }

        // And the bus works again: a revoke on A ends the session's streams on every node, and no node accepts it.
        var streams = new List<EventStreamClient>();
        try
        {
            foreach (var node in cluster.Nodes)
            {
                var stream = await EventStreamClient.OpenAsync(node, revokedAfter.Token);
                streams.Add(stream);
                Assert.NotNull(await stream.WaitForAsync("ping", TimeSpan.FromSeconds(10)));
            }

            var started = Stopwatch.GetTimestamp();
            var after = await cluster.A.DeleteAsync($"/v1/sessions/{revokedAfter.Id}", keeper.Token);
            var returned = Stopwatch.GetTimestamp();
            Findings.Check(after.Status == 204, $"the revoke on A after recovery answered {after}");
            Findings.Check(Ms.Between(started, returned) <= TesseraCluster.AckTimeout.TotalMilliseconds + 1000,
                $"the revoke on A after recovery took {Ms.Between(started, returned):F0} ms");
            foreach (var node in cluster.Nodes.Skip(1))
            {
                var check = await node.WhoAmIAsync(revokedAfter.Token);
                Findings.Check(check is { Status: 401, Code: "session_revoked" }, $"after recovery, {node.Name} answered {check} right after the revoke returned");
            }

            foreach (var stream in streams)
            {
                var revoked = await stream.WaitForAsync("session.revoked", TimeSpan.FromSeconds(5));
                Findings.Check(revoked is not null && Ms.Between(returned, revoked.ReceivedAt) <= 1000,
                    $"after recovery, the stream on {stream.Node} got session.revoked " +
                    (revoked is null ? "not within 5 s" : $"{Ms.Between(returned, revoked.ReceivedAt):F0} ms after the revoke returned"));
                if (revoked is not null)
                {
                    Findings.Measure(string.Create(CultureInfo.InvariantCulture,
                        $"after recovery, revoke on A to session.revoked on {stream.Node}: {Ms.Between(started, revoked.ReceivedAt):F1} ms (call took {Ms.Between(started, returned):F1} ms)"));
                }
            }
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }

        Findings.AssertAll();
    }

    /// <summary>Polls /readyz as fast as it answers until <paramref name="condition"/> holds; returns the Stopwatch timestamp of that answer.</summary>
    internal static async Task<long> WatchUntilAsync(TesseraNode node, Func<ApiResponse, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ready = await node.ReadyzAsync();
            if (condition(ready))
            {
                return Stopwatch.GetTimestamp();
            }

            await Task.Delay(10, cancellationToken);
        }
    }
}

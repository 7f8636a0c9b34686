using System.Diagnostics;
using System.Globalization;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>
/// A node's session cache may answer only while the node hears every invalidation from both of its sources: the Redis
/// bus (Tessera's own changes, acknowledged) and the PostgreSQL listener (changes written straight into the tables).
/// These tests take one source away and then let the other one recover.
/// </summary>
public sealed class CacheTrustTests
{
    public sealed class ListenerDown() : ClusterTest(new ClusterOptions { PostgresThroughProxy = new HashSet<int> { 2 } })
    {
        private const string Listener = "tessera-listener";

        [Fact(Timeout = 240_000)]
        public async Task A_node_whose_PostgreSQL_listener_is_down_does_not_serve_from_memory_when_its_Redis_connection_recovers()
        {
            var cluster = Cluster;
            var c = cluster.C;
            var proxy = cluster.PostgresProxy(2);
            var user = await cluster.CreateUserAsync(cluster.A, "listener-down");
            var session = await cluster.LoginAsync(c, user);
            await cluster.WarmAsync(session);

            // C's change listener loses its connection and cannot make a new one; C's store connections go on working.
            Assert.Equal(1, proxy.Cut(Listener));
            Findings.Check(await WaitForMetricAsync(c, "tessera_session_cache_trusted", 0, TimeSpan.FromSeconds(10)),
                "C still trusts its cache after its listener lost its connection");

            // Meanwhile C's Redis connections are cut and come back: the Redis fence trusts the bus again after a clean run.
            var fencesBefore = await c.MetricAsync("tessera_node_fences_total");
            Findings.Check(await cluster.RedisAdmin.KillClientsNamedAsync(cluster.RedisClientName(c)) >= 2, "CLIENT KILL found no connections of C");
            Findings.Check(await WaitForMetricAsync(c, "tessera_node_fences_total", (fencesBefore ?? 0) + 1, TimeSpan.FromSeconds(10)), "C did not fence itself after CLIENT KILL");
            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30), c);
            Findings.Check(proxy.Refusals > 0, "C's listener did not even try to reconnect");
            var trusted = await c.MetricAsync("tessera_session_cache_trusted");
            Findings.Check(trusted == 0,
                "C trusts its session cache again once the Redis fence recovered, although its PostgreSQL listener is still down: " +
                "changes written straight into the tables would go unheard while it serves from memory");

            // The session is read on C (and kept there, if C trusts its cache); then the user is deactivated straight in SQL.
            await cluster.WarmAsync(session, c);
            await cluster.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
            await Task.Delay(300, TestContext.Current.CancellationToken);
            foreach (var node in cluster.Nodes)
            {
                var check = await node.WhoAmIAsync(session.Token);
                Findings.Check(check is { Status: 401, Code: "account_deactivated" },
                    $"with C's listener down, {node.Name} answered {check} for the session of a user deactivated in SQL 300 ms earlier (wanted 401 account_deactivated)");
            }

            // The listener comes back: C serves from memory again, and nothing it kept meanwhile outlives the outage.
            proxy.Restore(Listener);
            Findings.Check(await WaitForMetricAsync(c, "tessera_session_cache_trusted", 1, TimeSpan.FromSeconds(20)),
                "C did not trust its cache again within 20 s of its listener being let back in");
            foreach (var node in cluster.Nodes)
            {
                var check = await node.WhoAmIAsync(session.Token);
                Findings.Check(check is { Status: 401, Code: "account_deactivated" },
                    $"after C's listener reconnected, {node.Name} answered {check} for the session of the user deactivated in SQL (wanted 401 account_deactivated)");
            }

            var live = await cluster.LoginAsync(c, await cluster.CreateUserAsync(cluster.A, "listener-back"));
            var hitsBefore = await c.MetricAsync("tessera_session_cache_hits_total");
            await cluster.WarmAsync(live, c);
            Findings.Check(await c.MetricAsync("tessera_session_cache_hits_total") > hitsBefore, "C does not serve from memory after its listener came back");

            Findings.AssertAll();
        }
    }

    public sealed class ListenerSilent() : ClusterTest(new ClusterOptions { PostgresThroughProxy = new HashSet<int> { 2 } })
    {
        [Fact(Timeout = 240_000)]
        public async Task A_change_written_in_SQL_is_seen_on_a_node_whose_listener_connection_went_silent_within_two_seconds()
        {
            var cluster = Cluster;
            var c = cluster.C;
            var user = await cluster.CreateUserAsync(cluster.A, "listener-silent");
            var session = await cluster.LoginAsync(c, user);
            await cluster.WarmAsync(session);

            // C's listener connection stays open but passes nothing (a stalled network path or a frozen proxy); C's
            // Redis bus is fine, so only the listener can tell C about a change written straight into the tables.
            var stalledAt = Stopwatch.GetTimestamp();
            cluster.PostgresProxy(2).Stall("tessera-listener");
            await cluster.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
            var committed = Stopwatch.GetTimestamp();

            var seen = await Task.WhenAll(cluster.Nodes.Select(node => RevocationAcrossNodesTests.PollUntilAsync(
                node, session.Token, r => r.Status == 401, TimeSpan.FromSeconds(20))));
            for (var i = 0; i < seen.Length; i++)
            {
                var (node, poll) = (cluster.Nodes[i], seen[i]);
                var delay = poll.Final?.Status == 401 ? Ms.Between(committed, poll.FirstMatchEnded) : double.PositiveInfinity;
                Findings.Measure(string.Create(CultureInfo.InvariantCulture,
                    $"listener of C stalled {Ms.Between(stalledAt, committed):F0} ms before an UPDATE in SQL: {node.Name} answered 401 {delay:F0} ms after the commit, " +
                    $"after {poll.Misses} check(s) still accepted"));
                Findings.Check(poll.Final is { Status: 401, Code: "account_deactivated" } && delay <= 2000,
                    $"{node.Name} went on accepting the session of a user deactivated in SQL for {delay:F0} ms ({poll.Misses} checks answered 200; last answer {poll.Final}); " +
                    "limit 2000 ms, the order of the Redis fence's FenceAfter");
            }

            cluster.PostgresProxy(2).Resume("tessera-listener");
            Findings.AssertAll();
        }
    }

    public sealed class RedisDown() : ClusterTest(new ClusterOptions { OwnRedis = true })
    {
        [Fact(Timeout = 240_000)]
        public async Task A_node_fenced_from_Redis_does_not_serve_from_memory_when_its_PostgreSQL_listener_reconnects()
        {
            var cluster = Cluster;
            var user = await cluster.CreateUserAsync(cluster.A, "redis-down-listener");
            var session = await cluster.LoginAsync(cluster.B, user);
            await cluster.WarmAsync(session);

            await cluster.Redis.KillAsync();
            foreach (var node in cluster.Nodes)
            {
                Findings.Check(await WaitForMetricAsync(node, "tessera_session_cache_trusted", 0, TimeSpan.FromSeconds(10)), $"{node.Name} still trusts its cache with Redis down");
            }

            // The listeners' connections break and are made again (a PostgreSQL restart or failover would do the same).
            await using var operatorConnection = await cluster.Database.OpenAsync();
            await using (var terminate = ClusterDatabase.Command(operatorConnection,
                             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tessera-listener'"))
            {
                Findings.Check((long)(await terminate.ExecuteScalarAsync(TestContext.Current.CancellationToken))! == 3, "not one listener connection per node was terminated");
            }

            Findings.Check(await WaitForListenersAsync(operatorConnection, 3, TimeSpan.FromSeconds(20)), "the listeners did not reconnect within 20 s");
            await Task.Delay(500, TestContext.Current.CancellationToken);

            foreach (var node in cluster.Nodes)
            {
                var ready = await node.ReadyzAsync();
                var trusted = await node.MetricAsync("tessera_session_cache_trusted");
                var hitsBefore = await node.MetricAsync("tessera_session_cache_hits_total");
                for (var i = 0; i < 3; i++)
                {
                    var check = await node.WhoAmIAsync(session.Token);
                    Findings.Check(check.Status == 200, $"{node.Name} answered {check} for a live session with Redis down");
                }

                var hitsAfter = await node.MetricAsync("tessera_session_cache_hits_total");
                Findings.Check(trusted == 0 && hitsAfter == hitsBefore,
                    $"with Redis down (/readyz: {ready}), {node.Name} trusts its session cache again once its PostgreSQL listener reconnected " +
                    $"(tessera_session_cache_trusted = {trusted}, cache hits {hitsBefore} → {hitsAfter} over three checks)");
            }

            Findings.AssertAll();
        }
    }

    internal static async Task<bool> WaitForMetricAsync(TesseraNode node, string sample, double value, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < timeout)
        {
            if (await node.MetricAsync(sample) == value)
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }

    private static async Task<bool> WaitForListenersAsync(Npgsql.NpgsqlConnection connection, int count, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < timeout)
        {
            await using var command = ClusterDatabase.Command(connection,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tessera-listener'");
            if ((long)(await command.ExecuteScalarAsync())! >= count)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}

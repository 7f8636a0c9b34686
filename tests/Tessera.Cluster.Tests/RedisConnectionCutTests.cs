using System.Diagnostics;
using System.Globalization;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>
/// The Redis connection of one node (C) cut while Redis and the other nodes are fine: killed by Redis (CLIENT KILL,
/// which the node sees at once), or silently partitioned (a proxy that stops passing bytes, which no socket error
/// reveals). Either way a revoke on A must return by the ack deadline, and C must not accept the revoked session.
/// </summary>
public sealed class RedisConnectionCutTests
{
    public sealed class KilledByRedis : ClusterTest
    {
        [Fact(Timeout = 240_000)]
        public async Task A_revoke_on_A_returns_by_the_ack_deadline_and_C_whose_Redis_connections_were_killed_rejects_the_session()
        {
            var cluster = Cluster;
            var (a, c) = (cluster.A, cluster.C);
            var user = await cluster.CreateUserAsync(a, "client-kill");
            var victim = await cluster.LoginAsync(c, user);
            var later = await cluster.LoginAsync(c, user);
            var keeper = await cluster.LoginAsync(a, user);
            await cluster.WarmAsync(victim);
            var fencesBefore = await c.MetricAsync("tessera_node_fences_total");

            using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var fenced = RedisOutageTests.WatchUntilAsync(c, r => r.Body != "Healthy", watching.Token);
            var cutAt = Stopwatch.GetTimestamp();
            var killed = await cluster.RedisAdmin.KillClientsNamedAsync(cluster.RedisClientName(c));
            Findings.Check(killed >= 2, $"CLIENT KILL found only {killed} connection(s) named {cluster.RedisClientName(c)} (wanted the interactive and the subscription one)");

            var revokeStarted = Stopwatch.GetTimestamp();
            var revoke = await a.DeleteAsync($"/v1/sessions/{victim.Id}", keeper.Token);
            var revokeReturned = Stopwatch.GetTimestamp();
            Findings.Check(revoke.Status == 204, $"the revoke on A answered {revoke}");
            Findings.Check(Ms.Between(revokeStarted, revokeReturned) <= TesseraCluster.AckTimeout.TotalMilliseconds + 1000,
                $"the revoke on A took {Ms.Between(revokeStarted, revokeReturned):F0} ms (limit: ack deadline + 1000 ms)");
            await AssertRejectedAsync(c, victim, "revoked_by_user", "right after the revoke on A returned");

            var fencedAt = await fenced;
            Findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"CLIENT KILL of C's {killed} connections: C's /readyz left Healthy {Ms.Between(cutAt, fencedAt):F0} ms after the kill; " +
                $"the revoke on A took {Ms.Between(revokeStarted, revokeReturned):F0} ms"));
            Findings.Check(await c.MetricAsync("tessera_node_fences_total") > fencesBefore, "C did not count a fence after its connections were killed");

            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30), c);
            Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"C Healthy again {Ms.Since(cutAt):F0} ms after its connections were killed"));

            await AssertStreamHearsRevokeAsync(cluster, c, later, keeper);
            Findings.AssertAll();
        }

        private async Task AssertRejectedAsync(TesseraNode node, ClusterSession session, string reason, string when)
        {
            await using var hammer = new Hammer(session.Token, [node], tasksPerNode: 2);
            await Task.Delay(500, TestContext.Current.CancellationToken);
            await hammer.StopAsync();
            var wrong = hammer.Requests.Where(r => r.Status != 401 || r.Code != "session_revoked" || r.Reason != reason).ToList();
            Findings.Check(wrong.Count == 0, $"{node.Name} {when}: {wrong.Count} of {hammer.Requests.Count} checks not 401 session_revoked ({reason}): " +
                string.Join("; ", wrong.Take(5).Select(r => $"{r.Status} {r.Code} {r.Reason}")));
        }

        private async Task AssertStreamHearsRevokeAsync(TesseraCluster cluster, TesseraNode node, ClusterSession session, ClusterSession keeper)
        {
            await using var stream = await EventStreamClient.OpenAsync(node, session.Token);
            Assert.NotNull(await stream.WaitForAsync("ping", TimeSpan.FromSeconds(10)));
            var started = Stopwatch.GetTimestamp();
            var revoke = await cluster.A.DeleteAsync($"/v1/sessions/{session.Id}", keeper.Token);
            Findings.Check(revoke.Status == 204, $"the revoke on A after recovery answered {revoke}");
            var revoked = await stream.WaitForAsync("session.revoked", TimeSpan.FromSeconds(5));
            Findings.Check(revoked is not null && Ms.Between(started, revoked.ReceivedAt) <= 1000,
                $"after recovery, {node.Name}'s stream got session.revoked " + (revoked is null ? "not within 5 s" : $"{Ms.Between(started, revoked.ReceivedAt):F0} ms after the revoke on A started"));
        }
    }

    public sealed class SubscriptionsKilled() : ClusterTest(new ClusterOptions { OwnRedis = true })
    {
        [Fact(Timeout = 240_000)]
        public async Task A_revoke_on_A_right_after_every_subscription_connection_was_killed_holds_on_B_and_C_once_it_returns()
        {
            var cluster = Cluster;
            var user = await cluster.CreateUserAsync(cluster.A, "pubsub-kill");
            var victim = await cluster.LoginAsync(cluster.B, user);
            var keeper = await cluster.LoginAsync(cluster.A, user);
            await cluster.WarmAsync(victim);

            // Every node's subscription connection (the bus, acknowledgements, pings) at once; the interactive ones stay.
            var cutAt = Stopwatch.GetTimestamp();
            var killed = (long)await cluster.RedisAdmin.Database.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
            var revokeStarted = Stopwatch.GetTimestamp();
            var revoke = await cluster.A.DeleteAsync($"/v1/sessions/{victim.Id}", keeper.Token);
            var revokeReturned = Stopwatch.GetTimestamp();
            Findings.Check(killed >= 3, $"CLIENT KILL TYPE pubsub killed {killed} connection(s) (wanted one per node)");
            Findings.Check(revoke.Status is 204 or 503, $"the revoke on A answered {revoke}");
            Findings.Check(Ms.Between(revokeStarted, revokeReturned) <= TesseraCluster.AckTimeout.TotalMilliseconds + 1500,
                $"the revoke on A took {Ms.Between(revokeStarted, revokeReturned):F0} ms (limit: ack deadline + 1500 ms)");
            Findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"CLIENT KILL TYPE pubsub ({killed} connections), then a revoke on A {Ms.Between(cutAt, revokeStarted):F0} ms later: {revoke.Status} {revoke.Code} in {Ms.Between(revokeStarted, revokeReturned):F0} ms"));

            await using (var hammer = new Hammer(victim.Token, cluster.Nodes, tasksPerNode: 1))
            {
                await Task.Delay(500, TestContext.Current.CancellationToken);
                await hammer.StopAsync();
                var wrong = hammer.Requests.Where(r => r.Status != 401 || r.Code != "session_revoked").ToList();
                Findings.Check(wrong.Count == 0, $"after the revoke returned, {wrong.Count} of {hammer.Requests.Count} checks were not 401 session_revoked: " +
                    string.Join("; ", wrong.Take(5).Select(r => $"{r.Node} {r.Status} {r.Code}")));
            }

            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30));
            Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"every node Healthy again {Ms.Since(cutAt):F0} ms after the subscriptions were killed"));
            Findings.AssertAll();
        }
    }

    public sealed class SilentlyPartitioned() : ClusterTest(new ClusterOptions { RedisThroughProxy = new HashSet<int> { 2 } })
    {
        [Fact(Timeout = 240_000)]
        public async Task A_revoke_on_A_returns_by_the_ack_deadline_and_C_cut_off_from_Redis_without_an_error_has_fenced_itself()
        {
            var cluster = Cluster;
            var (a, c) = (cluster.A, cluster.C);
            var user = await cluster.CreateUserAsync(a, "partition");
            var victim = await cluster.LoginAsync(c, user);
            var later = await cluster.LoginAsync(c, user);
            var keeper = await cluster.LoginAsync(a, user);
            await cluster.WarmAsync(victim);

            using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var fenced = RedisOutageTests.WatchUntilAsync(c, r => r.Body != "Healthy", watching.Token);
            var cutAt = Stopwatch.GetTimestamp();
            cluster.RedisProxy(2).Blackhole();

            // At once, before C can have noticed anything: A must wait for C's acknowledgement or for C to have fenced itself.
            var revokeStarted = Stopwatch.GetTimestamp();
            var revoke = await a.DeleteAsync($"/v1/sessions/{victim.Id}", keeper.Token);
            var revokeReturned = Stopwatch.GetTimestamp();
            Findings.Check(revoke.Status == 204, $"the revoke on A answered {revoke}");
            Findings.Check(Ms.Between(revokeStarted, revokeReturned) <= TesseraCluster.AckTimeout.TotalMilliseconds + 1500,
                $"the revoke on A took {Ms.Between(revokeStarted, revokeReturned):F0} ms (limit: ack deadline + 1500 ms)");

            await using (var hammer = new Hammer(victim.Token, [c], tasksPerNode: 2))
            {
                await Task.Delay(500, TestContext.Current.CancellationToken);
                await hammer.StopAsync();
                var wrong = hammer.Requests.Where(r => r.Status != 401 || r.Code != "session_revoked").ToList();
                Findings.Check(wrong.Count == 0, $"the partitioned C after the revoke on A returned: {wrong.Count} of {hammer.Requests.Count} checks not 401 session_revoked: " +
                    string.Join("; ", wrong.Take(5).Select(r => $"{r.Status} {r.Code}")));
            }

            var fencedAt = await fenced;
            Findings.Check(fencedAt <= revokeReturned, $"C's /readyz still said Healthy {Ms.Between(revokeReturned, fencedAt):F0} ms after the revoke on A returned");
            Findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"silent partition of C: C fenced itself (readyz left Healthy) {Ms.Between(cutAt, fencedAt):F0} ms after the cut; " +
                $"the revoke on A took {Ms.Between(revokeStarted, revokeReturned):F0} ms (ack deadline {TesseraCluster.AckTimeout.TotalMilliseconds} ms)"));

            // While partitioned, C still serves, by reading every check from PostgreSQL.
            var live = await c.WhoAmIAsync(later.Token);
            Findings.Check(live.Status == 200, $"the partitioned C answered {live} for a live session");
            Findings.Check(await c.MetricAsync("tessera_session_cache_trusted") == 0, "the partitioned C trusts its cache");

            var healedAt = Stopwatch.GetTimestamp();
            cluster.RedisProxy(2).Heal();
            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60), c);
            Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"C Healthy again {Ms.Since(healedAt):F0} ms after the partition healed"));

            await using var stream = await EventStreamClient.OpenAsync(c, later.Token);
            Assert.NotNull(await stream.WaitForAsync("ping", TimeSpan.FromSeconds(10)));
            var started = Stopwatch.GetTimestamp();
            var after = await a.DeleteAsync($"/v1/sessions/{later.Id}", keeper.Token);
            Findings.Check(after.Status == 204, $"the revoke on A after healing answered {after}");
            var check = await c.WhoAmIAsync(later.Token);
            Findings.Check(check is { Status: 401, Code: "session_revoked" }, $"C right after a revoke on A after healing: {check}");
            var revoked = await stream.WaitForAsync("session.revoked", TimeSpan.FromSeconds(5));
            Findings.Check(revoked is not null && Ms.Between(started, revoked.ReceivedAt) <= 1000,
                "after healing, C's stream got session.revoked " + (revoked is null ? "not within 5 s" : $"{Ms.Between(started, revoked.ReceivedAt):F0} ms after the revoke on A started"));

            Findings.AssertAll();
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>
/// The promise across nodes on a healthy cluster: a revocation on one node holds on the others the moment it returns,
/// a change written straight into PostgreSQL reaches every node, and open event streams hear of it at once. These
/// tests break nothing, so they share one cluster.
/// </summary>
public sealed class RevocationAcrossNodesTests(TesseraCluster cluster) : IClassFixture<TesseraCluster>, IAsyncDisposable
{
    private readonly Findings _findings = new();

    private enum RevokeWay
    {
        DeleteSessionFromAnotherSession,
        LogoutWithTheSessionItself,
        AdminRevokesAllSessions,
        PasswordChangedFromAnotherSession,
        AdminDeactivatesTheUser,
        AdminBansTheUser,
    }

    [Fact(Timeout = 180_000)]
    public async Task No_request_started_on_nodes_B_or_C_after_a_revoke_on_node_A_returned_is_accepted()
    {
        TesseraNode[] others = [cluster.B, cluster.C];
        foreach (var way in Enum.GetValues<RevokeWay>())
        {
            var user = await cluster.CreateUserAsync(cluster.A, "hammered");
            var victim = await cluster.LoginAsync(cluster.B, user);
            var keeper = await cluster.LoginAsync(cluster.C, user);
            var hitsBefore = await Task.WhenAll(others.Select(n => n.MetricAsync("tessera_session_cache_hits_total")));

            await using var hammer = new Hammer(victim.Token, others, tasksPerNode: 2);
            await hammer.WaitForAcceptedAsync(others, count: 20, TimeSpan.FromSeconds(30));

            var revokeStarted = Stopwatch.GetTimestamp();
            var (revoke, expectedCode, expectedReason) = way switch
            {
                RevokeWay.DeleteSessionFromAnotherSession => (await cluster.A.DeleteAsync($"/v1/sessions/{victim.Id}", keeper.Token), "session_revoked", "revoked_by_user"),
                RevokeWay.LogoutWithTheSessionItself => (await cluster.A.PostAsync("/v1/auth/logout", null, victim.Token), "session_revoked", "signed_out"),
                RevokeWay.AdminRevokesAllSessions => (await cluster.A.DeleteAsync($"/v1/admin/users/{user.Id}/sessions", cluster.Admin.Token), "session_revoked", "revoked_by_admin"),
                RevokeWay.PasswordChangedFromAnotherSession => (await cluster.A.PostAsync("/v1/auth/password/change",
                    new { currentPassword = user.Password, newPassword = "Changed-password-after-1" }, keeper.Token), "session_revoked", "password_changed"),
                RevokeWay.AdminDeactivatesTheUser => (await cluster.A.PostAsync($"/v1/admin/users/{user.Id}/deactivate", new { reason = "hammered" }, cluster.Admin.Token),
                    "account_deactivated", "user_deactivated"),
                _ => (await cluster.A.PostAsync($"/v1/admin/users/{user.Id}/ban", new { reason = "hammered" }, cluster.Admin.Token), "account_banned", "user_banned"),
            };
            var revokeReturned = Stopwatch.GetTimestamp();
            _findings.Check(revoke.Status is 200 or 204, $"{way}: the revoke on A answered {revoke}");

            // Keep hammering for a second after the revoke returned.
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            await hammer.StopAsync();
            var hitsAfter = await Task.WhenAll(others.Select(n => n.MetricAsync("tessera_session_cache_hits_total")));

            var requests = hammer.Requests;
            var report = new List<string>();
            for (var i = 0; i < others.Length; i++)
            {
                var node = others[i];
                var mine = requests.Where(r => r.Node == node.Name).ToList();
                var after = mine.Where(r => r.Started > revokeReturned).ToList();
                var accepted = after.Where(r => r.Status == 200).ToList();
                var wrong = after.Where(r => r.Status != 401 || r.Code != expectedCode || r.Reason != expectedReason).ToList();
                var inFlight = mine.Where(r => r.Started <= revokeReturned && r.Ended >= revokeStarted).ToList();
                var firstRejected = mine.Where(r => r.Status == 401).OrderBy(r => r.Ended).FirstOrDefault();
                var lastAcceptedStart = mine.Where(r => r.Status == 200).Select(r => r.Started).DefaultIfEmpty(revokeStarted).Max();

                _findings.Check(accepted.Count == 0,
                    $"{way}: {accepted.Count} request(s) on {node.Name} that started after the revoke returned were accepted; the latest started " +
                    $"{Ms.Between(revokeReturned, accepted.Select(r => r.Started).DefaultIfEmpty(revokeReturned).Max()):F1} ms after it returned");
                _findings.Check(wrong.Count == 0,
                    $"{way}: {wrong.Count} request(s) on {node.Name} after the revoke were not 401 {expectedCode} ({expectedReason}): " +
                    string.Join("; ", wrong.Take(5).Select(r => $"{r.Status} {r.Code} {r.Reason}")));
                _findings.Check(after.Count >= 10, $"{way}: only {after.Count} request(s) on {node.Name} started after the revoke returned");
                _findings.Check(mine.Any(r => r.Status == 200 && r.Ended < revokeStarted), $"{way}: {node.Name} accepted nothing before the revoke");
                _findings.Check(hitsAfter[i] > hitsBefore[i],
                    $"{way}: {node.Name} served no check from memory while hammered (cache hits {hitsBefore[i]} → {hitsAfter[i]}): the test would prove nothing");

                report.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{node.Name}: {mine.Count} checks ({after.Count} after return, all rejected: {accepted.Count == 0}); " +
                    $"first 401 answered {(firstRejected is null ? double.NaN : Ms.Between(revokeStarted, firstRejected.Ended)):F1} ms after the revoke started; " +
                    $"last accepted check started {Ms.Between(revokeReturned, lastAcceptedStart):F1} ms relative to the return; {inFlight.Count} in flight during the revoke " +
                    $"({inFlight.Count(r => r.Status == 200)} of them accepted)"));
            }

            _findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"revoke-to-rejection, {way} on A: call took {Ms.Between(revokeStarted, revokeReturned):F1} ms; ") + string.Join(" | ", report));
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_status_changed_straight_in_PostgreSQL_is_seen_by_the_next_requests_on_every_node_and_login_works_again_after_reactivation()
    {
        var user = await cluster.CreateUserAsync(cluster.A, "direct-sql");
        var session = await cluster.LoginAsync(cluster.A, user);
        await cluster.WarmAsync(session);

        await using (var operatorConnection = await cluster.Database.OpenAsync())
        {
            await using var deactivate = ClusterDatabase.Command(operatorConnection, "UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
            Assert.Equal(1, await deactivate.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        var committed = Stopwatch.GetTimestamp();
        var seen = await Task.WhenAll(cluster.Nodes.Select(node => PollUntilAsync(node, session.Token, r => r.Status == 401, TimeSpan.FromSeconds(5))));
        for (var i = 0; i < seen.Length; i++)
        {
            var (node, poll) = (cluster.Nodes[i], seen[i]);
            _findings.Check(poll.Final is { Status: 401, Code: "account_deactivated" },
                $"after UPDATE users SET status = 'deactivated', {node.Name} answered {poll.Final} (wanted 401 account_deactivated)");
            _findings.Check(poll.Final?.Status == 401 && Ms.Between(committed, poll.FirstMatchEnded) <= 1000,
                $"{node.Name} saw the deactivation only {Ms.Between(committed, poll.FirstMatchEnded):F0} ms after the commit (limit 1000 ms)");
            _findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"NOTIFY delay (deactivate) on {node.Name}: first 401 answered {Ms.Between(committed, poll.FirstMatchEnded):F1} ms after the UPDATE committed " +
                $"(request sent at +{Ms.Between(committed, poll.FirstMatchStarted):F1} ms); {poll.Misses} check(s) after the commit still accepted"));
        }

        foreach (var node in cluster.Nodes)
        {
            var login = await node.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password });
            _findings.Check(login is { Status: 403, Code: "account_deactivated" }, $"login of the deactivated user on {node.Name}: {login}");
        }

        await cluster.Database.ExecuteAsync("UPDATE users SET status = 'active' WHERE id = @id", ("id", user.Id));
        var reactivated = Stopwatch.GetTimestamp();
        var back = await Task.WhenAll(cluster.Nodes.Select(node => PollUntilAsync(node, session.Token, r => r.Status == 200, TimeSpan.FromSeconds(5))));
        for (var i = 0; i < back.Length; i++)
        {
            var (node, poll) = (cluster.Nodes[i], back[i]);
            _findings.Check(poll.Final?.Status == 200 && Ms.Between(reactivated, poll.FirstMatchEnded) <= 1000,
                $"after UPDATE users SET status = 'active', {node.Name} answered {poll.Final} for the untouched session " +
                $"{Ms.Between(reactivated, poll.FirstMatchEnded):F0} ms after the commit (wanted 200 within 1000 ms)");
            _findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"NOTIFY delay (reactivate) on {node.Name}: first 200 answered {Ms.Between(reactivated, poll.FirstMatchEnded):F1} ms after the UPDATE committed; " +
                $"{poll.Misses} check(s) after the commit still rejected"));

            var login = await node.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password });
            _findings.Check(login.Status == 200, $"login after reactivation on {node.Name}: {login}");
            if (login.Status == 200)
            {
                var token = login.Json.GetProperty("token").GetString()!;
                foreach (var other in cluster.Nodes)
                {
                    var check = await other.WhoAmIAsync(token);
                    _findings.Check(check.Status == 200, $"the session made on {node.Name} after reactivation, checked on {other.Name}: {check}");
                }
            }
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 120_000)]
    public async Task An_open_event_stream_on_node_C_receives_session_revoked_within_a_second_of_a_revoke_on_node_A()
    {
        var delays = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            var user = await cluster.CreateUserAsync(cluster.A, "streamed");
            var victim = await cluster.LoginAsync(cluster.C, user);
            var keeper = await cluster.LoginAsync(cluster.A, user);
            await using var stream = await EventStreamClient.OpenAsync(cluster.C, victim.Token);
            Assert.NotNull(await stream.WaitForAsync("ping", TimeSpan.FromSeconds(10)));

            var revokeStarted = Stopwatch.GetTimestamp();
            var revoke = await cluster.A.DeleteAsync($"/v1/sessions/{victim.Id}", keeper.Token);
            var revokeReturned = Stopwatch.GetTimestamp();
            _findings.Check(revoke.Status == 204, $"round {round}: the revoke on A answered {revoke}");

            var revoked = await stream.WaitForAsync("session.revoked", TimeSpan.FromSeconds(5));
            if (revoked is null)
            {
                _findings.Check(false, $"round {round}: no session.revoked on C's stream within 5 s of the revoke on A");
                continue;
            }

            var sinceReturn = Ms.Between(revokeReturned, revoked.ReceivedAt);
            delays.Add(Ms.Between(revokeStarted, revoked.ReceivedAt));
            _findings.Check(Ms.Between(revokeStarted, revoked.ReceivedAt) <= 1000,
                $"round {round}: session.revoked arrived on C {Ms.Between(revokeStarted, revoked.ReceivedAt):F0} ms after the revoke on A started (limit 1000 ms)");
            using var data = JsonDocument.Parse(revoked.Data);
            _findings.Check(data.RootElement.GetProperty("sessionId").GetString() == victim.Id, $"round {round}: the event names {revoked.Data}");
            _findings.Check(data.RootElement.GetProperty("reason").GetString() == "revoked_by_user", $"round {round}: reason in {revoked.Data}");
            _findings.Check(!string.IsNullOrWhiteSpace(data.RootElement.GetProperty("message").GetString()), $"round {round}: no message in {revoked.Data}");
            _findings.Check(await stream.WaitForEndAsync(TimeSpan.FromSeconds(5)), $"round {round}: C did not close the stream after session.revoked");
            _findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"revoke on A to session.revoked on C's stream: {Ms.Between(revokeStarted, revoked.ReceivedAt):F1} ms from the call, " +
                $"{sinceReturn:F1} ms after it returned (call took {Ms.Between(revokeStarted, revokeReturned):F1} ms)"));
        }

        if (delays.Count > 0)
        {
            delays.Sort();
            _findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"revoke-to-event over {delays.Count} rounds: median {delays[delays.Count / 2]:F1} ms, max {delays[^1]:F1} ms"));
        }

        _findings.AssertAll();
    }

    public ValueTask DisposeAsync()
    {
        if (TestContext.Current.TestState?.Result is TestResult.Failed)
        {
            cluster.KeepFiles();
            var diagnostics = cluster.Diagnostics();
            TestContext.Current.TestOutputHelper?.WriteLine(diagnostics);
            throw new ClusterLogsException(diagnostics);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Checks the session on one node as fast as it answers until <paramref name="match"/> holds or time runs out.</summary>
    internal static async Task<Poll> PollUntilAsync(TesseraNode node, string token, Func<ApiResponse, bool> match, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        var misses = 0;
        ApiResponse? last = null;
        while (waited.Elapsed < timeout)
        {
            var started = Stopwatch.GetTimestamp();
            last = await node.WhoAmIAsync(token);
            var ended = Stopwatch.GetTimestamp();
            if (match(last))
            {
                return new Poll(last, started, ended, misses);
            }

            misses++;
        }

        return new Poll(last, long.MaxValue / 2, long.MaxValue / 2, misses);
    }

    internal sealed record Poll(ApiResponse? Final, long FirstMatchStarted, long FirstMatchEnded, int Misses);
}

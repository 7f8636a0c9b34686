using System.Diagnostics;
using System.Globalization;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>One node killed with SIGKILL while the others work on, and started again on the same port.</summary>
public sealed class NodeCrashTests : ClusterTest
{
    [Fact(Timeout = 240_000)]
    public async Task A_node_killed_and_restarted_holds_every_revocation_made_while_it_was_down_and_starts_with_an_empty_cache()
    {
        var cluster = Cluster;
        var (a, b, c) = (cluster.A, cluster.B, cluster.C);
        var user = await cluster.CreateUserAsync(a, "crash");
        var revokedWhileDown = await cluster.LoginAsync(c, user);
        var revokedByC = await cluster.LoginAsync(c, user);
        var revokedByA = await cluster.LoginAsync(a, user);
        var keeper = await cluster.LoginAsync(a, user);
        var deactivated = await cluster.CreateUserAsync(b, "crash-deactivated");
        var deactivatedSession = await cluster.LoginAsync(c, deactivated);
        foreach (var session in new[] { revokedWhileDown, revokedByC, keeper, deactivatedSession })
        {
            await cluster.WarmAsync(session);
        }

        var killedAt = Stopwatch.GetTimestamp();
        await c.KillAsync();
        Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"SIGKILL of C took {Ms.Since(killedAt):F0} ms"));

        // While C is down: a revocation, a deactivation and a sign-up, each committed and answered.
        var revokeStarted = Stopwatch.GetTimestamp();
        var revoke = await a.DeleteAsync($"/v1/sessions/{revokedWhileDown.Id}", keeper.Token);
        var revokeTook = Ms.Since(revokeStarted);
        Findings.Measure(string.Create(CultureInfo.InvariantCulture,
            $"revoke on A {Ms.Between(killedAt, revokeStarted):F0} ms after C was killed: {revoke.Status} in {revokeTook:F0} ms (C still counted live until its heartbeat ages out)"));
        Findings.Check(revoke.Status == 204, $"the revoke on A with C dead answered {revoke}");
        Findings.Check(revokeTook <= TesseraCluster.AckTimeout.TotalMilliseconds + 1500,
            $"the revoke on A with C dead took {revokeTook:F0} ms (limit: the ack deadline {TesseraCluster.AckTimeout.TotalMilliseconds} ms + 1500 ms)");
        var onB = await b.WhoAmIAsync(revokedWhileDown.Token);
        Findings.Check(onB is { Status: 401, Code: "session_revoked" }, $"B answered {onB} right after the revoke on A returned");

        var deactivate = await b.PostAsync($"/v1/admin/users/{deactivated.Id}/deactivate", new { reason = "while C was down" }, cluster.Admin.Token);
        Findings.Check(deactivate.Status == 200, $"deactivating a user on B with C dead answered {deactivate}");
        var newcomer = await cluster.CreateUserAsync(a, "crash-newcomer");

        // C comes back on the same port, with the same data directory.
        var restartedAt = Stopwatch.GetTimestamp();
        c.Start();
        await c.WaitUntilHealthyAsync(TesseraCluster.StartTimeout);
        Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"C restarted and Healthy {Ms.Since(restartedAt):F0} ms after it was started again"));

        // Nothing cached from its previous life: no entries, no hits, before any session is checked on it.
        Findings.Check(await c.MetricAsync("tessera_session_cache_entries") == 0, "C's cache is not empty after the restart");
        Findings.Check(await c.MetricAsync("tessera_session_cache_hits_total") == 0, "C answered from memory before any check after the restart");

        var check = await c.WhoAmIAsync(revokedWhileDown.Token);
        Findings.Check(check is { Status: 401, Code: "session_revoked", Reason: "revoked_by_user" }, $"C after the restart, the session revoked while it was down: {check}");
        check = await c.WhoAmIAsync(deactivatedSession.Token);
        Findings.Check(check.Status == 401 && check.Code is "session_revoked" or "account_deactivated",
            $"C after the restart, the session of the user deactivated while it was down: {check}");
        check = await c.WhoAmIAsync(keeper.Token);
        Findings.Check(check.Status == 200, $"C after the restart, a live session: {check}");
        var login = await c.PostAsync("/v1/auth/login", new { email = newcomer.Email, password = newcomer.Password });
        Findings.Check(login.Status == 200, $"C after the restart, sign-in of the user who signed up while it was down: {login}");
        login = await c.PostAsync("/v1/auth/login", new { email = deactivated.Email, password = deactivated.Password });
        Findings.Check(login is { Status: 403, Code: "account_deactivated" }, $"C after the restart, sign-in of the user deactivated while it was down: {login}");

        // No committed change lost: the store has each of them, with its audit event.
        var db = cluster.Database;
        Findings.Check(await db.ScalarAsync<string>("SELECT revoke_reason FROM sessions WHERE id = @id", ("id", revokedWhileDown.Id)) == "revoked_by_user",
            "the revocation made while C was down is not in PostgreSQL");
        Findings.Check(await db.ScalarAsync<string>("SELECT status FROM users WHERE id = @id", ("id", deactivated.Id)) == "deactivated",
            "the deactivation made while C was down is not in PostgreSQL");
        Findings.Check(await db.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'user.deactivated' AND target_user_id = @id", ("id", deactivated.Id)) == 1,
            "the deactivation made while C was down has no audit event");
        Findings.Check(await db.ScalarAsync<long>("SELECT count(*) FROM users WHERE id = @id", ("id", newcomer.Id)) == 1,
            "the user who signed up while C was down is not in PostgreSQL");

        // C is a member again: its revokes hold on A and B at once, and A's revokes hold on C at once.
        await cluster.WarmAsync(revokedByC, a, b);
        var fromC = await c.DeleteAsync($"/v1/sessions/{revokedByC.Id}", keeper.Token);
        Findings.Check(fromC.Status == 204, $"a revoke on the restarted C answered {fromC}");
        foreach (var node in new[] { a, b })
        {
            check = await node.WhoAmIAsync(revokedByC.Token);
            Findings.Check(check is { Status: 401, Code: "session_revoked" }, $"{node.Name} right after a revoke on the restarted C returned: {check}");
        }

        await cluster.WarmAsync(revokedByA, c);
        var startedA = Stopwatch.GetTimestamp();
        var fromA = await a.DeleteAsync($"/v1/sessions/{revokedByA.Id}", keeper.Token);
        Findings.Measure(string.Create(CultureInfo.InvariantCulture, $"revoke on A after C rejoined: {fromA.Status} in {Ms.Since(startedA):F0} ms"));
        Findings.Check(fromA.Status == 204, $"a revoke on A after C rejoined answered {fromA}");
        check = await c.WhoAmIAsync(revokedByA.Token);
        Findings.Check(check is { Status: 401, Code: "session_revoked" }, $"the restarted C right after a revoke on A returned: {check}");
        Findings.Check(await c.MetricAsync("tessera_bus_invalidations_received_total") >= 1, "the restarted C received no invalidation from the bus");

        Findings.AssertAll();
    }
}

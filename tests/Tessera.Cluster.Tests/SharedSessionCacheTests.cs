using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>
/// The shared session cache in Redis: a session one node read from PostgreSQL answers another node's first check of
/// it, and an entry read before a change never answers after it, whichever way the change was made. Each check below
/// goes to a node that never held the session in its own memory, so only the shared cache or PostgreSQL can answer.
/// </summary>
public sealed class SharedSessionCacheTests(TesseraCluster cluster) : IClassFixture<TesseraCluster>
{
    private const string Hits = "tessera_shared_cache_lookups_total{result=\"hit\"}";
    private const string Misses = "tessera_shared_cache_lookups_total{result=\"miss\"}";

    /// <summary>
    /// Long enough for a fill (sent without waiting) to land, and for a watchdog ping to go round. A node refuses
    /// entries for a user that were read before its first ping after a change to that user came back (creating the
    /// user is one: its row's trigger notifies), so each test lets that pass before the read that fills the entry.
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(600);

    [Fact(Timeout = 120_000)]
    public async Task A_session_read_on_one_node_answers_the_first_check_on_another_from_the_shared_cache()
    {
        var user = await cluster.CreateUserAsync(cluster.A, "shared");

        Assert.True(await SharedAcrossAsync(user, cluster.C, cluster.B), "B never answered a session C had read from the shared cache");
    }

    [Fact(Timeout = 180_000)]
    public async Task An_entry_read_before_a_revoke_never_answers_after_it_and_a_new_read_is_shared_again()
    {
        ClusterUser? user = null;
        var exercised = await UntilExercisedAsync(async () =>
        {
            user = await cluster.CreateUserAsync(cluster.A, "shared-revoked");
            var victim = await cluster.LoginAsync(cluster.A, user);
            var keeper = await cluster.LoginAsync(cluster.A, user);
            await FillAsync(cluster.A, victim);

            var lookupsBefore = await LookupsAsync(cluster.B);
            Assert.Equal(204, (await cluster.A.DeleteAsync($"/v1/sessions/{victim.Id}", keeper.Token)).Status);
            foreach (var node in new[] { cluster.B, cluster.C })
            {
                var check = await node.WhoAmIAsync(victim.Token);
                Assert.True(check is { Status: 401, Code: "session_revoked" }, $"{node.Name} answered {check} right after the revoke returned");
            }

            return await LookupsAsync(cluster.B) > lookupsBefore;
        });

        Assert.True(exercised, "B never looked in the shared cache after a revoke (fenced every time?): the test proved nothing");

        // The user's other sessions, read once B's first ping after the revoke has come back, are shared again.
        Assert.True(await SharedAcrossAsync(user!, cluster.C, cluster.B), "after the revoke, B never again answered the user's sessions from the shared cache");
    }

    [Fact(Timeout = 180_000)]
    public async Task An_entry_read_before_a_change_made_straight_in_SQL_never_answers_after_it()
    {
        var exercised = await UntilExercisedAsync(async () =>
        {
            var user = await cluster.CreateUserAsync(cluster.A, "shared-sql");
            var session = await cluster.LoginAsync(cluster.A, user);
            await FillAsync(cluster.A, session);

            var lookupsBefore = await LookupsAsync(cluster.B);
            await cluster.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
            await Task.Delay(300, TestContext.Current.CancellationToken);
            foreach (var node in new[] { cluster.B, cluster.C })
            {
                var check = await node.WhoAmIAsync(session.Token);
                Assert.True(check is { Status: 401, Code: "account_deactivated" }, $"{node.Name} answered {check} 300 ms after the UPDATE committed");
            }

            return await LookupsAsync(cluster.B) > lookupsBefore;
        });

        Assert.True(exercised, "B never looked in the shared cache after an UPDATE in SQL (fenced every time?): the test proved nothing");
    }

    [Fact(Timeout = 180_000)]
    public async Task A_node_holding_the_session_from_the_shared_cache_checks_a_password_change_against_the_stored_password()
    {
        // Each attempt a new user, so that the change request is B's first sight of them: had B read the user from
        // PostgreSQL before, its memory would hold the password hash and prove nothing.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var user = await cluster.CreateUserAsync(cluster.A, "shared-password");
            var session = await cluster.LoginAsync(cluster.A, user);
            await FillAsync(cluster.C, session);
            var hits = await cluster.B.MetricAsync(Hits) ?? 0;

            var change = await cluster.B.PostAsync("/v1/auth/password/change", new { currentPassword = user.Password, newPassword = "Changed-cluster-password-2" }, session.Token);

            if (await cluster.B.MetricAsync(Hits) > hits)
            {
                // The shared cache holds no password hash; B must not take that for a wrong password.
                Assert.True(change.Status == 204, $"B, holding the session from the shared cache, answered {change} to the right current password");
                await TesseraCluster.LoginAsync(cluster.C, user.Email, "Changed-cluster-password-2");
                return;
            }
        }

        Assert.Fail("B never took a session from the shared cache (fenced every time?): the test proved nothing");
    }

    /// <summary>
    /// Runs a scenario (which asserts the promise every time) until B did look in the shared cache during it, at most five
    /// times: on a loaded machine a node may be fenced for a moment, and a fenced node rightly reads the store instead.
    /// </summary>
    private static async Task<bool> UntilExercisedAsync(Func<Task<bool>> scenario)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (await scenario())
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the session on a node that does not hold it, after the user's creation has settled, so that the read fills the shared cache.</summary>
    private static async Task FillAsync(TesseraNode node, ClusterSession session)
    {
        await Task.Delay(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(200, (await node.WhoAmIAsync(session.Token)).Status);
        await Task.Delay(Settle, TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// Signs in a new session, reads it on <paramref name="filler"/> (which fills the shared cache) and then on
    /// <paramref name="reader"/>, until the reader answers one from the shared cache, for up to 20 s: how soon a node
    /// takes a user's entries after a change depends on when its next ping comes back, and a loaded machine (or a
    /// moment's fence) can delay that.
    /// </summary>
    private async Task<bool> SharedAcrossAsync(ClusterUser user, TesseraNode filler, TesseraNode reader)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < until)
        {
            var session = await cluster.LoginAsync(cluster.A, user);
            Assert.Equal(200, (await filler.WhoAmIAsync(session.Token)).Status);
            await Task.Delay(Settle / 2, TestContext.Current.CancellationToken);
            var hits = await reader.MetricAsync(Hits) ?? 0;
            Assert.Equal(200, (await reader.WhoAmIAsync(session.Token)).Status);
            if (await reader.MetricAsync(Hits) > hits)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<double> LookupsAsync(TesseraNode node) =>
        (await node.MetricAsync(Hits) ?? 0) + (await node.MetricAsync(Misses) ?? 0);
}

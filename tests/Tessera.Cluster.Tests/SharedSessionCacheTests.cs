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
        var sessions = await LoginManyAsync(user);

        Assert.True(await SharedAcrossAsync(cluster.C, cluster.B, sessions), "B never answered a session C had read from the shared cache");
    }

    [Fact(Timeout = 120_000)]
    public async Task An_entry_read_before_a_revoke_never_answers_after_it_and_a_new_read_is_shared_again()
    {
        var user = await cluster.CreateUserAsync(cluster.A, "shared-revoked");
        var victim = await cluster.LoginAsync(cluster.A, user);
        var keeper = await cluster.LoginAsync(cluster.A, user);
        var others = await LoginManyAsync(user);
        await Task.Delay(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(200, (await cluster.A.WhoAmIAsync(victim.Token)).Status);
        await Task.Delay(Settle, TestContext.Current.CancellationToken);

        var lookupsBefore = await LookupsAsync(cluster.B);
        Assert.Equal(204, (await cluster.A.DeleteAsync($"/v1/sessions/{victim.Id}", keeper.Token)).Status);

        foreach (var node in new[] { cluster.B, cluster.C })
        {
            var check = await node.WhoAmIAsync(victim.Token);
            Assert.True(check is { Status: 401, Code: "session_revoked" }, $"{node.Name} answered {check} right after the revoke returned");
        }

        Assert.True(await LookupsAsync(cluster.B) > lookupsBefore, "B did not look in the shared cache: the test proved nothing");

        // The user's other sessions, read once B's first ping after the revoke has come back, are shared again.
        Assert.True(await SharedAcrossAsync(cluster.C, cluster.B, others), "after the revoke, B never again answered the user's sessions from the shared cache");
    }

    [Fact(Timeout = 120_000)]
    public async Task An_entry_read_before_a_change_made_straight_in_SQL_never_answers_after_it()
    {
        var user = await cluster.CreateUserAsync(cluster.A, "shared-sql");
        var session = await cluster.LoginAsync(cluster.A, user);
        await Task.Delay(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(200, (await cluster.A.WhoAmIAsync(session.Token)).Status);
        await Task.Delay(Settle, TestContext.Current.CancellationToken);

        var lookupsBefore = await LookupsAsync(cluster.B);
        await cluster.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
        await Task.Delay(300, TestContext.Current.CancellationToken);

        foreach (var node in new[] { cluster.B, cluster.C })
        {
            var check = await node.WhoAmIAsync(session.Token);
            Assert.True(check is { Status: 401, Code: "account_deactivated" }, $"{node.Name} answered {check} 300 ms after the UPDATE committed");
        }

        Assert.True(await LookupsAsync(cluster.B) > lookupsBefore, "B did not look in the shared cache: the test proved nothing");
    }

    private async Task<IReadOnlyList<ClusterSession>> LoginManyAsync(ClusterUser user)
    {
        var sessions = new List<ClusterSession>();
        for (var i = 0; i < 8; i++)
        {
            sessions.Add(await cluster.LoginAsync(cluster.A, user));
        }

        return sessions;
    }

    /// <summary>
    /// Reads each session on <paramref name="filler"/> (which fills the shared cache) and then on
    /// <paramref name="reader"/>, until the reader answers one from the shared cache. Several tries, because how soon
    /// a node takes entries for a user after a change to it depends on when its next ping comes back, and a loaded
    /// machine can delay that.
    /// </summary>
    private static async Task<bool> SharedAcrossAsync(TesseraNode filler, TesseraNode reader, IReadOnlyList<ClusterSession> sessions)
    {
        foreach (var session in sessions)
        {
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

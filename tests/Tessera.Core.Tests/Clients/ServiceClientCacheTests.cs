using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Caching;
using Tessera.Core.Clients;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Xunit;

namespace Tessera.Core.Tests.Clients;

/// <summary>A copy of a service client is used only while nothing says it may be stale.</summary>
public sealed class ServiceClientCacheTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 7, 5, 0, 0, TimeSpan.Zero));
    private readonly SessionCache _sessions;
    private readonly ServiceClientCache _cache;

    public ServiceClientCacheTests()
    {
        _sessions = new SessionCache(clock: _clock);
        _cache = new ServiceClientCache(_sessions, _clock);
    }

    [Fact]
    public void A_client_read_from_the_store_is_used_until_it_is_invalidated()
    {
        _cache.Add(Client("cli_a"), _cache.Epoch);
        Assert.True(_cache.TryGet("cli_a", out var found));
        Assert.Equal("cli_a", found.Id);

        _cache.Handle(Invalidation.ForClient("cli_a"));

        Assert.False(_cache.TryGet("cli_a", out _));
    }

    [Fact]
    public void Another_clients_invalidation_or_a_users_leaves_the_copy()
    {
        _cache.Add(Client("cli_a"), _cache.Epoch);

        _cache.Handle(Invalidation.ForClient("cli_b"));
        _cache.Handle(Invalidation.ForUser("usr_1", [], reason: null));

        Assert.True(_cache.TryGet("cli_a", out _));
    }

    [Fact]
    public void A_read_that_raced_a_client_invalidation_is_not_kept()
    {
        var epochBeforeRead = _cache.Epoch;
        _cache.Handle(Invalidation.ForClient("cli_a"));

        _cache.Add(Client("cli_a"), epochBeforeRead);

        Assert.False(_cache.TryGet("cli_a", out _));
    }

    [Fact]
    public void No_copy_is_older_than_its_lifetime_so_a_change_made_in_SQL_holds_within_it()
    {
        _cache.Add(Client("cli_a"), _cache.Epoch);

        _clock.Advance(ServiceClientCache.Lifetime - TimeSpan.FromMilliseconds(1));
        Assert.True(_cache.TryGet("cli_a", out _));

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(_cache.TryGet("cli_a", out _));
    }

    [Fact]
    public void Copies_are_not_used_while_the_node_distrusts_its_cache_nor_after_it_trusts_again()
    {
        _cache.Add(Client("cli_a"), _cache.Epoch);

        _sessions.Distrust("test");
        Assert.False(_cache.TryGet("cli_a", out _));

        // The node may have missed a client's invalidation while it distrusted: what it held before is not used again.
        _sessions.Trust("test");
        Assert.False(_cache.TryGet("cli_a", out _));

        _cache.Add(Client("cli_a"), _cache.Epoch);
        Assert.True(_cache.TryGet("cli_a", out _));
    }

    [Fact]
    public void Copies_are_not_used_while_a_commit_may_not_have_been_applied_yet()
    {
        var current = true;
        _sessions.AddCurrencyCheck(() => current);
        _cache.Add(Client("cli_a"), _cache.Epoch);

        current = false;
        Assert.False(_cache.TryGet("cli_a", out _));

        current = true;
        Assert.True(_cache.TryGet("cli_a", out _));
    }

    private ServiceClient Client(string id)
    {
        SecretTokens.Create(out var hash);
        return new ServiceClient
        {
            Id = id,
            Name = id,
            Scopes = [ClientScopes.Introspect],
            CreatedAt = _clock.GetUtcNow(),
            CreatedBy = "usr_admin",
            SecretHash = hash,
        };
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Xunit;

namespace Tessera.Core.Tests.Sessions;

/// <summary>Ended sessions leave the store after the retention period; sessions that hold never do.</summary>
public sealed class SessionRetentionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SessionRetention Retention(CoreHarness tessera) => tessera.Services.GetServices<IHostedService>().OfType<SessionRetention>().Single();

    [Fact]
    public async Task A_session_ended_longer_ago_than_the_retention_is_deleted_and_a_live_one_is_kept()
    {
        await using var tessera = await CoreHarness.StartAsync(o =>
        {
            o.Sessions.IdleTimeout = TimeSpan.FromDays(60);
            o.Sessions.AbsoluteLifetime = TimeSpan.FromDays(90);
            o.Sessions.RetainEndedFor = TimeSpan.FromDays(30);
        }, cancellationToken: Ct);
        await tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var ended = await tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        var live = await tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        await tessera.Sessions.RevokeAsync(
            ended.User.Id, ended.Session.Id, RevocationReason.SignedOut, new Actor(ActorKind.User, ended.User.Id), "192.0.2.1", Ct);
        var retention = Retention(tessera);

        tessera.Clock.Advance(TimeSpan.FromDays(29));
        Assert.Equal(0, await retention.PurgeAsync(Ct));
        Assert.NotNull(await tessera.ReadStoredSessionAsync(ended.Session.Id, Ct));

        tessera.Clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal(1, await retention.PurgeAsync(Ct));

        Assert.Null(await tessera.ReadStoredSessionAsync(ended.Session.Id, Ct));
        Assert.NotNull(await tessera.ReadStoredSessionAsync(live.Session.Id, Ct));
        Assert.True((await tessera.Validator.CheckAsync(live.Token, Ct)).Holds);
        Assert.False((await tessera.Validator.CheckAsync(ended.Token, Ct)).Holds);
    }

    [Fact]
    public async Task A_retention_of_zero_keeps_ended_sessions_forever()
    {
        await using var tessera = await CoreHarness.StartAsync(o => o.Sessions.RetainEndedFor = TimeSpan.Zero, cancellationToken: Ct);
        await tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var ended = await tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        await tessera.Sessions.RevokeAsync(
            ended.User.Id, ended.Session.Id, RevocationReason.SignedOut, new Actor(ActorKind.User, ended.User.Id), "192.0.2.1", Ct);

        tessera.Clock.Advance(TimeSpan.FromDays(3650));

        Assert.Equal(0, await Retention(tessera).PurgeAsync(Ct));
        Assert.NotNull(await tessera.ReadStoredSessionAsync(ended.Session.Id, Ct));
    }
}

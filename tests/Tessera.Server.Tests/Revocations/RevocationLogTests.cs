using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Invalidations;
using Tessera.Server.Revocations;
using Tessera.Server.Tests.Clients;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Revocations;

/// <summary>What the revocation log keeps (the last 10 minutes and the last 100,000 entries, within a hard bound) and how it reads.</summary>
public sealed class RevocationLogTests
{
    [Fact]
    public void It_keeps_every_entry_of_the_last_ten_minutes_and_the_last_entries_beyond_them()
    {
        var clock = new FakeTimeProvider();
        var log = new RevocationLog(clock, minEntries: 3, minAge: TimeSpan.FromMinutes(10), maxEntries: 100);
        for (var i = 0; i < 10; i++)
        {
            log.AppendRevoked(Invalidation.ForUser($"usr_{i}", [], null));
        }

        // Young: all kept, whatever their number.
        Assert.Equal(10, log.ReadAfter(0).Entries!.Count);

        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var head = log.AppendReset(RevocationLog.TrustRegained);

        // Old: only the last three (the new one among them).
        Assert.Equal(3, log.Count);
        Assert.Equal(RevocationLog.Gap, log.ReadAfter(head - 4).ResetReason);
        var kept = log.ReadAfter(head - 3).Entries!;
        Assert.Equal([head - 2, head - 1, head], kept.Select(entry => entry.Sequence));
        Assert.Equal(RevocationLog.TrustRegained, kept[^1].ResetReason);
        Assert.Empty(log.ReadAfter(head).Entries!);
        Assert.Equal(RevocationLog.Gap, log.ReadAfter(head + 1).ResetReason);
    }

    [Fact]
    public void It_never_holds_more_than_its_hard_bound_even_within_ten_minutes()
    {
        var log = new RevocationLog(new FakeTimeProvider(), minEntries: 2, minAge: TimeSpan.FromMinutes(10), maxEntries: 5);
        for (var i = 0; i < 2000; i++)
        {
            log.AppendRevoked(Invalidation.ForUser("usr_x", [], null));
        }

        Assert.Equal(5, log.Count);
        Assert.Equal(2000, log.Head);
        Assert.Equal([1996L, 1997, 1998, 1999, 2000], log.ReadAfter(1995).Entries!.Select(entry => entry.Sequence));
    }

    [Fact]
    public void Ids_name_the_log_and_an_id_of_another_log_or_none_cannot_resume()
    {
        var log = new RevocationLog(new FakeTimeProvider());
        var other = new RevocationLog(new FakeTimeProvider());
        var sequence = log.AppendRevoked(Invalidation.ForUser("usr_x", [], null));

        Assert.NotEqual(log.Name, other.Name);
        Assert.Matches("^[0-9a-f]{16}$", log.Name);
        Assert.Equal($"{log.Name}.1", log.IdOf(sequence));
        Assert.Single(log.ReadAfter($"{log.Name}.0").Entries!);
        Assert.Equal(RevocationLog.NodeRestarted, log.ReadAfter(other.IdOf(0)).ResetReason);
        Assert.Equal(RevocationLog.NodeRestarted, log.ReadAfter($"{log.Name}.-1").ResetReason);
        Assert.Equal(RevocationLog.NodeRestarted, log.ReadAfter("").ResetReason);
        Assert.Equal(RevocationLog.NodeRestarted, log.ReadAfter(".1").ResetReason);
    }

    [Fact]
    public async Task Over_HTTP_a_resume_from_before_what_the_log_keeps_gets_a_reset_gap()
    {
        await using var app = new TesseraApp(loopback: true, services: services =>
            services.AddSingleton(new RevocationLog(TimeProvider.System, minEntries: 1, minAge: TimeSpan.Zero, maxEntries: 1)));
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(app, "revocations");
        string lastSeen;
        await using (var stream = await RevocationStreamClient.ConnectAndGreetAsync(app, clientId, secret))
        {
            lastSeen = stream.LastEventId!;
        }

        using var admin = await app.AdminAsync();
        for (var i = 0; i < 2; i++)
        {
            var user = await app.NewUserAsync();
            await (await admin.Post($"/v1/admin/users/{user.Id}/ban")).AssertOkJsonAsync();
        }

        await using var resumed = await RevocationStreamClient.ConnectAsync(app, clientId, secret, lastSeen);
        var reset = await resumed.NextAsync();
        Assert.Equal("reset", reset.EventType);
        Assert.Equal("gap", RevocationStreamClient.Data(reset).Str("reason"));
        Assert.Equal(app.Services.GetRequiredService<RevocationLog>().Head, RevocationStreamClient.SequenceOf(reset.EventId!));
        Assert.Equal("hello", (await resumed.NextAsync()).EventType);
    }
}

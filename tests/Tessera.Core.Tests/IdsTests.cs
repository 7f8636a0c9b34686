using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Tessera.Core.Tests;

public sealed class IdsTests
{
    [Fact]
    public void Ids_made_in_one_millisecond_sort_in_the_order_they_were_made()
    {
        // A clock that does not move: every id below has the same timestamp, and only their random bits differ.
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var ids = Enumerable.Range(0, 1_000).Select(_ => Ids.NewAuditEventId(clock)).ToList();

        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^evt_[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$", id));
    }

    [Fact]
    public void A_later_millisecond_gives_a_greater_id()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var first = Ids.NewSessionId(clock);
        clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(string.CompareOrdinal(Ids.NewSessionId(clock), first) > 0);
    }
}

using Microsoft.Extensions.Time.Testing;
using Tessera.AspNetCore.Revocations;

namespace Tessera.AspNetCore.Tests.Revocations;

/// <summary>The lease from a heartbeat, and the WebSocket close description: small rules with exact answers.</summary>
public sealed class LeaseArithmeticTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void A_lease_runs_from_the_moment_the_request_was_sent_less_the_clock_rate_margin()
    {
        var sent = _clock.GetTimestamp();
        var until = RevocationListener.LeaseUntil(sent, new RevocationListener.HeartbeatData(Elapsed: 500, Lease: 1000), _clock);

        // 1500 ms - (0.15 ms + 10 ms) after sent.
        Assert.Equal(1489.85, (until - sent) * 1000.0 / _clock.TimestampFrequency, precision: 2);
    }

    [Fact]
    public void Lease_zero_grants_nothing_and_neither_does_a_margin_that_eats_it()
    {
        var sent = _clock.GetTimestamp();
        Assert.Equal(0, RevocationListener.LeaseUntil(sent, new RevocationListener.HeartbeatData(Elapsed: 500, Lease: 0), _clock));
        Assert.Equal(0, RevocationListener.LeaseUntil(sent, new RevocationListener.HeartbeatData(Elapsed: 500, Lease: 5), _clock));
        Assert.Equal(0, RevocationListener.LeaseUntil(sent, new RevocationListener.HeartbeatData(Elapsed: -1, Lease: 1000), _clock));
    }

    [Fact]
    public void A_close_description_is_at_most_123_bytes_and_never_splits_a_character()
    {
        Assert.Equal("user_banned", TesseraHttpContextExtensions.CloseDescription("user_banned"));
        var cut = TesseraHttpContextExtensions.CloseDescription(new string('é', 100));
        Assert.Equal(61, cut.Length);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(cut) <= 123);
        var emoji = TesseraHttpContextExtensions.CloseDescription(string.Concat(Enumerable.Repeat("😀", 40)));
        Assert.Equal(60, emoji.Length);
        Assert.False(char.IsHighSurrogate(emoji[^1]));
    }
}

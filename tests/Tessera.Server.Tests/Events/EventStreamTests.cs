using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Events;

public sealed class EventStreamTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task The_stream_is_text_event_stream_not_cached_and_starts_with_a_ping()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        await using var stream = await EventStreamClient.ConnectAsync(client);

        Assert.Contains("no-cache", stream.Response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_stream_works_with_the_cookie_too()
    {
        var user = await _app.NewUserAsync();
        using var browser = _app.WithCookie(user.Token);

        await using var stream = await EventStreamClient.ConnectAsync(browser);

        using var client = _app.WithToken(user.Token);
        await client.Post("/v1/auth/logout");
        var revoked = await stream.ExpectRevokedAsync(Wait);
        Assert.Equal("signed_out", revoked.Str("reason"));
    }

    [Fact]
    public async Task Connecting_without_a_session_gives_401_unauthenticated()
    {
        using var client = _app.Anonymous();

        var response = await client.Get("/v1/events");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task Connecting_with_a_revoked_token_gives_401_session_revoked()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await client.Post("/v1/auth/logout");

        var response = await client.Get("/v1/events");

        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("signed_out", problem.Str("reason"));
    }

    [Fact]
    public async Task Connecting_as_a_deactivated_user_gives_401_account_deactivated()
    {
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate")).AssertOkJsonAsync();
        using var client = _app.WithToken(user.Token);

        var response = await client.Get("/v1/events");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deactivated");
    }

    [Fact]
    public async Task The_revoked_event_carries_the_session_id_reason_and_a_message_then_the_server_closes_the_stream()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await using var stream = await EventStreamClient.ConnectAsync(client);

        await client.Post("/v1/auth/logout");

        var revoked = await stream.ExpectRevokedAsync(Wait);
        Assert.Equal(user.Session.SessionId, revoked.Str("sessionId"));
        Assert.Equal("signed_out", revoked.Str("reason"));
        Assert.False(string.IsNullOrWhiteSpace(revoked.Str("message")));
        await stream.ExpectClosedAsync(Wait);
    }

    [Fact]
    public async Task Ending_another_session_of_the_same_user_leaves_this_stream_open()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var watched = _app.WithToken(user.Sessions[0].Token);
        await using var stream = await EventStreamClient.ConnectAsync(watched);

        Assert.Equal(HttpStatusCode.NoContent, (await watched.Delete($"/v1/sessions/{user.Sessions[1].SessionId}")).StatusCode);

        Assert.True(await stream.StaysQuietAsync(TimeSpan.FromMilliseconds(500)), "the stream of a session that still holds ended");
    }

    [Fact]
    public async Task Changing_the_password_from_this_session_leaves_its_stream_open()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var current = _app.WithToken(user.Sessions[0].Token);
        await using var stream = await EventStreamClient.ConnectAsync(current);

        Assert.Equal(HttpStatusCode.NoContent,
            (await current.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "stream-stays-open-1" })).StatusCode);

        Assert.True(await stream.StaysQuietAsync(TimeSpan.FromMilliseconds(500)), "the stream of the session that changed the password ended");
    }

    [Fact]
    public async Task Another_users_revocation_leaves_this_stream_open()
    {
        var user = await _app.NewUserAsync();
        var other = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await using var stream = await EventStreamClient.ConnectAsync(client);
        using var admin = await _app.AdminAsync();

        await (await admin.Post($"/v1/admin/users/{other.Id}/ban")).AssertOkJsonAsync();

        Assert.True(await stream.StaysQuietAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Two_streams_of_one_session_both_hear_the_revocation()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await using var first = await EventStreamClient.ConnectAsync(client);
        await using var second = await EventStreamClient.ConnectAsync(client);

        await client.Post("/v1/sessions/revoke-all");

        Assert.Equal("signed_out_all_devices", (await first.ExpectRevokedAsync(Wait)).Str("reason"));
        Assert.Equal("signed_out_all_devices", (await second.ExpectRevokedAsync(Wait)).Str("reason"));
    }

    [Fact]
    public async Task The_open_streams_metric_follows_the_streams()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await using var stream = await EventStreamClient.ConnectAsync(client);

        var metrics = await (await client.Get("/metrics")).ReadTextAsync();

        var open = PrometheusText.Sample(metrics, "tessera_event_streams_open");
        Assert.True(open >= 1, $"tessera_event_streams_open is {open}");
    }
}

/// <summary>How many streams a session and a user may hold open.</summary>
public sealed class EventStreamLimitTests : IAsyncLifetime
{
    private readonly TesseraApp _app = new(settings: new Dictionary<string, string?>
    {
        ["Tessera:Sessions:MaxEventStreamsPerSession"] = "2",
        ["Tessera:Sessions:MaxEventStreamsPerUser"] = "3",
    });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_session_beyond_its_open_streams_gets_429_rate_limited_until_one_closes()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var client = _app.WithToken(user.Token);
        var first = await EventStreamClient.ConnectAsync(client);
        await using var second = await EventStreamClient.ConnectAsync(client);

        var third = await client.Get("/v1/events");

        var problem = await third.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.False(string.IsNullOrWhiteSpace(problem.Str("detail")));
        Assert.NotNull(third.Headers.RetryAfter);

        // The same user's other session is not held back by this one's streams.
        using var other = _app.WithToken(user.Sessions[1].Token);
        await using var elsewhere = await EventStreamClient.ConnectAsync(other);

        // Closing a stream frees its place.
        await first.DisposeAsync();
        HttpResponseMessage again;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((again = await client.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken)).StatusCode
            == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline)
        {
            again.Dispose();
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        using (again)
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
    }

    [Fact]
    public async Task A_user_beyond_their_open_streams_over_all_sessions_gets_429_rate_limited()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var a = _app.WithToken(user.Sessions[0].Token);
        using var b = _app.WithToken(user.Sessions[1].Token);
        using var c = _app.WithToken(user.Sessions[2].Token);
        await using var first = await EventStreamClient.ConnectAsync(a);
        await using var second = await EventStreamClient.ConnectAsync(a);
        await using var third = await EventStreamClient.ConnectAsync(b);

        await (await c.Get("/v1/events")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
    }
}

/// <summary>Pings and expiry on a clock the test moves.</summary>
public sealed class EventStreamClockTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TesseraApp _app;

    public EventStreamClockTests() => _app = new TesseraApp(clock: _clock);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_quiet_stream_gets_a_ping_at_least_every_25_seconds()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await using var stream = await EventStreamClient.ConnectAsync(client);

        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(25));
            var ping = await stream.NextAsync(TimeSpan.FromSeconds(5));
            Assert.Equal("ping", ping?.EventType);
        }
    }

    [Fact]
    public async Task A_session_that_expires_while_connected_ends_its_stream_with_a_message()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await using var stream = await EventStreamClient.ConnectAsync(client);

        _clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));

        var ended = await stream.ExpectRevokedAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(user.Session.SessionId, ended.Str("sessionId"));
        Assert.False(string.IsNullOrWhiteSpace(ended.Str("message")));
        Assert.Equal(JsonValueKind.String, ended.GetProperty("reason").ValueKind);
        await stream.ExpectClosedAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_open_stream_does_not_keep_an_idle_session_alive()
    {
        await using var app = new TesseraApp(clock: _clock, settings: new Dictionary<string, string?> { ["Tessera:Sessions:IdleTimeout"] = "00:10:00" });
        var user = await app.NewUserAsync();
        using var client = app.WithToken(user.Token);
        await using var stream = await EventStreamClient.ConnectAsync(client);

        // A forgotten tab: the stream pings and looks at its session every 25 s, and nobody uses the session.
        System.Net.ServerSentEvents.SseItem<string>? last = null;
        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromMinutes(11) && last?.EventType != "session.revoked"; elapsed += TimeSpan.FromSeconds(25))
        {
            _clock.Advance(TimeSpan.FromSeconds(25));
            last = await NextAfterAdvanceAsync(stream);
        }

        Assert.Equal("session.revoked", last?.EventType);
        Assert.Equal("session_expired", JsonDocument.Parse(last!.Value.Data).RootElement.Str("reason"));
        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_expired");
    }

    /// <summary>
    /// The stream's next event after the fake clock moved. An advance that lands while the stream is between two waits
    /// (it has written a ping and not yet set its next timer) moves nothing for that timer: nudge the clock a second at a
    /// time until the event comes, for up to five seconds of real time. More fake time only makes the session idler.
    /// </summary>
    private async Task<System.Net.ServerSentEvents.SseItem<string>?> NextAfterAdvanceAsync(EventStreamClient stream)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await stream.NextAsync(TimeSpan.FromMilliseconds(500));
            }
            catch (TimeoutException) when (attempt < 10)
            {
                _clock.Advance(TimeSpan.FromSeconds(1));
            }
        }
    }

    [Fact]
    public async Task A_timed_ban_that_is_still_running_when_the_stream_connects_gives_401()
    {
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { until = _clock.GetUtcNow().AddHours(1) })).AssertOkJsonAsync();
        using var client = _app.WithToken(user.Token);

        var problem = await (await client.Get("/v1/events")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_banned");

        JsonShapes.AssertUtcTimestamp(problem.GetProperty("bannedUntil"));
    }
}

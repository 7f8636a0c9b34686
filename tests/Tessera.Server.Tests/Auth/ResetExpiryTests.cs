using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Auth;

/// <summary>Reset tokens expire (one hour by default), on a clock the test moves.</summary>
public sealed class ResetExpiryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TesseraApp _app;

    public ResetExpiryTests() => _app = new TesseraApp(clock: _clock);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_reset_token_older_than_an_hour_gives_400_invalid_reset_token()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);

        _clock.Advance(TimeSpan.FromMinutes(61));

        await (await client.Post("/v1/auth/password/reset", new { token, newPassword = "too-late-password-1" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task A_reset_token_used_within_the_hour_works()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);

        _clock.Advance(TimeSpan.FromMinutes(59));

        Assert.Equal(HttpStatusCode.NoContent, (await client.Post("/v1/auth/password/reset", new { token, newPassword = "just-in-time-1" })).StatusCode);
    }
}

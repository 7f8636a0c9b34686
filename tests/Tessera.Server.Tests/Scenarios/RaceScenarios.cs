using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Scenarios;

/// <summary>
/// The promise under load: no revoked session is accepted once the revoking call has returned, and no session
/// created by a request racing with a decision outlives that decision.
/// </summary>
public sealed class RaceScenarios(SharedApp shared) : IClassFixture<SharedApp>
{
    private const int Workers = 6;

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task No_request_that_starts_after_the_revoking_call_returns_is_accepted()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();
        var results = new ConcurrentBag<(long StartedAt, HttpStatusCode Status)>();
        using var stop = new CancellationTokenSource();

        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            using var client = _app.WithToken(user.Token);
            while (!stop.IsCancellationRequested)
            {
                var startedAt = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync("/v1/auth/session", CancellationToken.None);
                results.Add((startedAt, response.StatusCode));
            }
        })).ToList();

        await Task.Delay(150, TestContext.Current.CancellationToken);
        await (await admin.Delete($"/v1/admin/users/{user.Id}/sessions")).AssertOkJsonAsync();
        var returnedAt = Stopwatch.GetTimestamp();
        await Task.Delay(150, TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var after = results.Where(r => r.StartedAt > returnedAt).ToList();
        Assert.NotEmpty(after);
        Assert.Contains(results, r => r.Status == HttpStatusCode.OK);
        Assert.All(after, r => Assert.Equal(HttpStatusCode.Unauthorized, r.Status));
    }

    [Fact]
    public async Task No_session_from_a_login_racing_with_a_ban_survives_the_ban()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        var tokens = await WhileLoggingInAsync(user.Email, TesseraApp.Password, async () =>
            await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "race" })).AssertOkJsonAsync());

        Assert.NotEmpty(tokens);
        await AssertNoneHoldAsync(tokens);
    }

    [Fact]
    public async Task No_session_from_a_login_racing_with_a_deactivation_survives_it()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        var tokens = await WhileLoggingInAsync(user.Email, TesseraApp.Password, async () =>
            await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate")).AssertOkJsonAsync());

        Assert.NotEmpty(tokens);
        await AssertNoneHoldAsync(tokens);
    }

    [Fact]
    public async Task No_session_signed_in_with_the_old_password_survives_a_password_change()
    {
        // Several rounds: the race needs a login to check the old password just before the change commits.
        for (var round = 0; round < 4; round++)
        {
            var user = await _app.NewUserAsync(sessions: 1);
            using var current = _app.WithToken(user.Token);
            var tokens = await WhileLoggingInAsync(user.Email, TesseraApp.Password, async () =>
                Assert.Equal(HttpStatusCode.NoContent,
                    (await current.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "changed-in-a-race-1" })).StatusCode));

            Assert.NotEmpty(tokens);
            await AssertNoneHoldAsync(tokens);
        }
    }

    [Fact]
    public async Task No_session_signed_in_with_the_old_password_survives_a_password_reset()
    {
        for (var round = 0; round < 4; round++)
        {
            var user = await _app.NewUserAsync(sessions: 0);
            using var anonymous = _app.Anonymous();
            await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email });
            var resetToken = await _app.ReadResetTokenAsync(user.Email);
            var tokens = await WhileLoggingInAsync(user.Email, TesseraApp.Password, async () =>
                Assert.Equal(HttpStatusCode.NoContent,
                    (await anonymous.Post("/v1/auth/password/reset", new { token = resetToken, newPassword = "reset-in-a-race-1" })).StatusCode));

            Assert.NotEmpty(tokens);
            await AssertNoneHoldAsync(tokens);
        }
    }

    [Fact]
    public async Task Concurrent_revocations_of_one_session_end_it_once()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();
        using var client = _app.WithToken(user.Sessions[0].Token);

        var responses = await Task.WhenAll(
            client.Delete($"/v1/sessions/{user.Sessions[1].SessionId}"),
            client.Delete($"/v1/sessions/{user.Sessions[1].SessionId}"),
            admin.Delete($"/v1/admin/users/{user.Id}/sessions/{user.Sessions[1].SessionId}"),
            admin.Delete($"/v1/admin/users/{user.Id}/sessions/{user.Sessions[1].SessionId}"));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.NoContent);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.NoContent), r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        var revocations = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events");
        Assert.Single(revocations);
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_email_create_one_user()
    {
        var email = TesseraApp.NewEmail("race");
        using var client = _app.Anonymous();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            client.Post("/v1/auth/register", new { email = i % 2 == 0 ? email : email.ToUpperInvariant(), password = TesseraApp.Password })));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
    }

    /// <summary>Runs <paramref name="decision"/> while several clients keep signing in; returns every token they got.</summary>
    private async Task<List<SignedInDuring>> WhileLoggingInAsync(string email, string password, Func<Task> decision)
    {
        var tokens = new ConcurrentBag<SignedInDuring>();
        var origin = Stopwatch.GetTimestamp();
        TimeSpan? decisionStarted = null;
        TimeSpan? decisionReturned = null;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            using var client = _app.Anonymous();
            while (!stop.IsCancellationRequested)
            {
                var startedAt = Stopwatch.GetElapsedTime(origin);
                using var response = await client.PostAsJsonAsync("/v1/auth/login", new { email, password }, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None);
                    tokens.Add(new SignedInDuring(body.Str("token"), startedAt, Stopwatch.GetElapsedTime(origin), decisionStarted, decisionReturned));
                }
            }
        })).ToList();

        await Task.Delay(100, TestContext.Current.CancellationToken);
        decisionStarted = Stopwatch.GetElapsedTime(origin);
        await decision();
        decisionReturned = Stopwatch.GetElapsedTime(origin);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        return [.. tokens.Select(t => t with { DecisionStarted = decisionStarted, DecisionReturned = decisionReturned })];
    }

    private async Task AssertNoneHoldAsync(IEnumerable<SignedInDuring> tokens)
    {
        var survivors = new List<string>();
        foreach (var signedIn in tokens)
        {
            using var client = _app.WithToken(signedIn.Token);
            using var response = await client.Get("/v1/auth/session");
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                var session = (await response.ReadJsonAsync()).GetProperty("session").Id();
                survivors.Add($"{(int)response.StatusCode} for {session}: login from {signedIn.StartedAt.TotalMilliseconds:0} to {signedIn.FinishedAt.TotalMilliseconds:0} ms, " +
                    $"decision from {signedIn.DecisionStarted?.TotalMilliseconds:0} to {signedIn.DecisionReturned?.TotalMilliseconds:0} ms");
            }
        }

        Assert.True(survivors.Count == 0, $"{survivors.Count} session(s) outlived the decision: {string.Join(" | ", survivors)}");
    }
}

/// <summary>A token from a login that ran while a decision was being made, with the timings (ms from the start).</summary>
internal sealed record SignedInDuring(string Token, TimeSpan StartedAt, TimeSpan FinishedAt, TimeSpan? DecisionStarted, TimeSpan? DecisionReturned);

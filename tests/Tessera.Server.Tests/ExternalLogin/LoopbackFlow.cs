using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.ExternalLogin;

/// <summary>Where the browser is sent at the end of the loopback flow's round trip: the client's listener, with its query.</summary>
internal sealed record LoopbackArrival(string Location, Dictionary<string, StringValues> Query, IReadOnlyList<string> SetCookies)
{
    public string Code => Query["code"].ToString();
}

/// <summary>
/// The legs of the loopback flow (RFC 8252) driven by hand against an app in memory and the test provider, so that each
/// can be spoiled; and what the store then holds. Shared by the classes that run it on SQLite and on PostgreSQL.
/// </summary>
internal sealed class LoopbackFlow(TesseraApp app)
{
    public const string Name = "corp";
    public const string CallbackUri = "http://localhost/v1/auth/external/corp/callback";
    public const string Listener = "http://127.0.0.1:49152/tessera-callback";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ITesseraStore Store => app.Services.GetRequiredService<ITesseraStore>();

    public static string NewVerifier() => Base64UrlTextEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    public static string StartPath(string redirectUri, string? challenge, string? method, string? state)
    {
        var query = new Dictionary<string, string?> { ["redirect_uri"] = redirectUri, ["code_challenge"] = challenge, ["code_challenge_method"] = method, ["state"] = state };
        return QueryHelpers.AddQueryString($"/v1/auth/external/{Name}/start", query.Where(p => p.Value is not null));
    }

    /// <summary>Start (as the client's browser), the provider's authorization endpoint, Tessera's callback: where the browser is sent then.</summary>
    public async Task<LoopbackArrival> RoundTripAsync(string verifier, string state = "state-1")
    {
        using var client = app.Anonymous();
        var start = await client.Get(StartPath(Listener, Tessera.Core.ExternalLogin.Pkce.ChallengeOf(verifier), "S256", state));
        Assert.True(start.StatusCode == HttpStatusCode.Redirect, await start.Content.ReadAsStringAsync(Ct));
        var cookies = new CookieContainer();
        foreach (var cookie in start.Headers.GetValues("Set-Cookie"))
        {
            cookies.SetCookies(new Uri(CallbackUri), cookie);
        }

        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var authorized = await browser.GetAsync(start.Headers.Location!, Ct);
        Assert.Equal(HttpStatusCode.Redirect, authorized.StatusCode);

        using var callback = new HttpRequestMessage(HttpMethod.Get, authorized.Headers.Location!.PathAndQuery);
        callback.Headers.Add("Cookie", cookies.GetCookieHeader(new Uri(CallbackUri)));
        callback.Headers.Add("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        var back = await client.SendAsync(callback, Ct);
        Assert.True(back.StatusCode == HttpStatusCode.Redirect, $"{(int)back.StatusCode}: {await back.Content.ReadAsStringAsync(Ct)}");
        var location = back.Headers.Location!.OriginalString;
        return new LoopbackArrival(location, QueryHelpers.ParseQuery(new Uri(location).Query),
            back.Headers.TryGetValues("Set-Cookie", out var set) ? [.. set] : []);
    }

    /// <summary>A round trip and its exchange: the session's token and id.</summary>
    public async Task<(LoopbackArrival Arrival, string Verifier, SignedIn Session)> SignInAsync()
    {
        var verifier = NewVerifier();
        var arrival = await RoundTripAsync(verifier);
        using var client = app.Anonymous();
        var body = await (await client.Post("/v1/auth/external/exchange", new { code = arrival.Code, codeVerifier = verifier })).AssertOkJsonAsync();
        return (arrival, verifier, new SignedIn(body.Str("token"), body.GetProperty("session").Str("id"), body));
    }

    public async Task<string?> UserIdOfAsync(string email)
    {
        await using var read = await Store.BeginReadAsync(Ct);
        return (await read.Users.FindByEmailAsync(Tessera.Core.Users.User.NormalizeEmail(email), Ct))?.Id;
    }

    public async Task<Tessera.Core.Sessions.Session?> FirstSessionAsync(string userId)
    {
        await using var read = await Store.BeginReadAsync(Ct);
        var sessions = await read.Sessions.ListUnrevokedAsync(userId, DateTimeOffset.UtcNow, Ct);
        return sessions.Count == 0 ? null : sessions[0];
    }

    public async Task<IReadOnlyList<AuditEvent>> AuditAsync(string userId, string? action = null)
    {
        await using var read = await Store.BeginReadAsync(Ct);
        return await read.Audit.QueryAsync(new AuditQuery(userId, action, null, null, 100), Ct);
    }
}

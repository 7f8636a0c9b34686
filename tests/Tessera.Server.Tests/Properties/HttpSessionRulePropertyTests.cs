using System.Net;
using System.Text.Json;
using CsCheck;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Properties;

/// <summary>
/// The session rule at the HTTP level: random sequences of what users and an admin do through the API (Bearer tokens
/// and cookies, the user's own endpoints and the admin's), next to a model of the rule. After every step, every token
/// ever issued is presented to <c>GET /v1/auth/session</c>: it must hold exactly when the model says so, and a dead one
/// must be refused with a code and reason the model allows. (The core's property test covers the clock; this one the
/// paths a request takes: binding, the cookie, the session cache filled and emptied by requests.)
/// </summary>
public sealed class HttpSessionRulePropertyTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const int Sequences = 100;

    private static readonly Gen<HttpStep> Steps = Gen.Frequency(
        (5, Gen.Select(Gen.Int[0, 2], Gen.Bool, (u, cookie) => (HttpStep)new SignIn(u, cookie))),
        (2, Gen.Int[0, 15].Select(s => (HttpStep)new SignOut(s))),
        (2, Gen.Int[0, 15].Select(s => (HttpStep)new SignOutOthers(s))),
        (1, Gen.Int[0, 15].Select(s => (HttpStep)new SignOutAll(s))),
        (2, Gen.Select(Gen.Int[0, 15], Gen.Int[0, 15], (s, t) => (HttpStep)new EndOwnSession(s, t))),
        (2, Gen.Int[0, 15].Select(s => (HttpStep)new ChangePassword(s))),
        (2, Gen.Int[0, 2].Select(u => (HttpStep)new Deactivate(u))),
        (2, Gen.Int[0, 2].Select(u => (HttpStep)new Reactivate(u))),
        (2, Gen.Int[0, 2].Select(u => (HttpStep)new Ban(u))),
        (2, Gen.Int[0, 2].Select(u => (HttpStep)new Unban(u))),
        (1, Gen.Int[0, 2].Select(u => (HttpStep)new Delete(u))),
        (1, Gen.Int[0, 2].Select(u => (HttpStep)new AdminEndAll(u))),
        (1, Gen.Int[0, 15].Select(s => (HttpStep)new AdminEndOne(s))));

    [Fact]
    public async Task No_sequence_of_user_and_admin_calls_leaves_a_dead_session_usable()
    {
        var output = TestContext.Current.TestOutputHelper;
        await Steps.Array[1, 25].SampleAsync(
            steps => new HttpScenario(shared.App, steps).RunAsync(),
            writeLine: line => output?.WriteLine(line),
            // CsCheck_Seed repeats a failing sequence; CsCheck_Iter runs more of them.
            iter: Environment.GetEnvironmentVariable("CsCheck_Iter") is null ? Sequences : -1,
            threads: 1,
            print: steps => string.Join(", ", steps.Select((step, i) => $"{i + 1}.{step}")));
    }
}

internal abstract record HttpStep;

internal sealed record SignIn(int User, bool ViaCookie) : HttpStep;

internal sealed record SignOut(int Session) : HttpStep;

internal sealed record SignOutOthers(int Session) : HttpStep;

internal sealed record SignOutAll(int Session) : HttpStep;

internal sealed record EndOwnSession(int Session, int Other) : HttpStep;

internal sealed record ChangePassword(int Session) : HttpStep;

internal sealed record Deactivate(int User) : HttpStep;

internal sealed record Reactivate(int User) : HttpStep;

internal sealed record Ban(int User) : HttpStep;

internal sealed record Unban(int User) : HttpStep;

internal sealed record Delete(int User) : HttpStep;

internal sealed record AdminEndAll(int User) : HttpStep;

internal sealed record AdminEndOne(int Session) : HttpStep;

/// <summary>One sequence: three new users, the admin, and the model they are checked against.</summary>
internal sealed class HttpScenario(TesseraApp app, HttpStep[] steps)
{
    private readonly List<ModelUser> _users = [];
    private readonly List<ModelSession> _sessions = [];
    private HttpClient? _admin;
    private string _step = "setup";

    public async Task RunAsync()
    {
        using var admin = await app.AdminAsync();
        _admin = admin;
        for (var i = 0; i < 3; i++)
        {
            var email = TesseraApp.NewEmail($"prop{i}");
            _users.Add(new ModelUser(i, await app.RegisterAsync(email), email, TesseraApp.Password));
        }

        for (var i = 0; i < steps.Length; i++)
        {
            _step = $"step {i + 1} ({steps[i]})";
            await ApplyAsync(steps[i]);
            await CheckEveryTokenAsync();
        }
    }

    private async Task ApplyAsync(HttpStep step)
    {
        switch (step)
        {
            case SignIn(var u, var viaCookie):
                await SignInAsync(_users[u], viaCookie);
                break;
            case SignOut(var s) when Pick(s) is { } session:
                await AsHolderAsync(session, client => client.Post("/v1/auth/logout"), HttpStatusCode.NoContent,
                    () => Revoke(session.User, "signed_out", only: session));
                break;
            case SignOutOthers(var s) when Pick(s) is { } session:
                await AsHolderAsync(session, client => client.Post("/v1/sessions/revoke-others"), HttpStatusCode.OK,
                    () => Revoke(session.User, "signed_out_other_devices", except: session));
                break;
            case SignOutAll(var s) when Pick(s) is { } session:
                await AsHolderAsync(session, client => client.Post("/v1/sessions/revoke-all"), HttpStatusCode.OK,
                    () => Revoke(session.User, "signed_out_all_devices"));
                break;
            case EndOwnSession(var s, var t) when Pick(s) is { } session && Pick(t) is { } other:
                var expected = other == session ? HttpStatusCode.BadRequest
                    : other.User == session.User && other.Revoked is null ? HttpStatusCode.NoContent
                    : HttpStatusCode.NotFound;
                await AsHolderAsync(session, client => client.Delete($"/v1/sessions/{other.Id}"), expected, () =>
                {
                    if (expected == HttpStatusCode.NoContent)
                    {
                        Revoke(other.User, "revoked_by_user", only: other);
                    }
                });
                break;
            case ChangePassword(var s) when Pick(s) is { } session:
                var newPassword = $"changed-password-{Guid.NewGuid():N}";
                await AsHolderAsync(session,
                    client => client.Post("/v1/auth/password/change", new { currentPassword = session.User.Password, newPassword }),
                    HttpStatusCode.NoContent,
                    () =>
                    {
                        session.User.Password = newPassword;
                        Revoke(session.User, "password_changed", except: session);
                    });
                break;
            case Deactivate(var u):
                await DecideAsync(_users[u], "deactivate", user =>
                {
                    user.Status = "deactivated";
                    Revoke(user, "user_deactivated");
                });
                break;
            case Reactivate(var u):
                await DecideAsync(_users[u], "reactivate", user => user.Status = "active");
                break;
            case Ban(var u):
                await DecideAsync(_users[u], "ban", user =>
                {
                    user.Banned = true;
                    Revoke(user, "user_banned");
                });
                break;
            case Unban(var u):
                await DecideAsync(_users[u], "unban", user => user.Banned = false);
                break;
            case Delete(var u):
                var deleting = _users[u];
                await AssertStatusAsync(await _admin!.Delete($"/v1/admin/users/{deleting.Id}"), HttpStatusCode.OK);
                if (deleting.Status != "deleted")
                {
                    deleting.Status = "deleted";
                    deleting.Banned = false;
                    Revoke(deleting, "user_deleted");
                }

                break;
            case AdminEndAll(var u):
                await AssertStatusAsync(await _admin!.Delete($"/v1/admin/users/{_users[u].Id}/sessions"), HttpStatusCode.OK);
                Revoke(_users[u], "revoked_by_admin");
                break;
            case AdminEndOne(var s) when Pick(s) is { } session:
                var ends = session.Revoked is null;
                await AssertStatusAsync(await _admin!.Delete($"/v1/admin/users/{session.User.Id}/sessions/{session.Id}"),
                    ends ? HttpStatusCode.NoContent : HttpStatusCode.NotFound);
                if (ends)
                {
                    Revoke(session.User, "revoked_by_admin", only: session);
                }

                break;
            default:
                // A step that names a session when none has been issued yet.
                break;
        }
    }

    private async Task SignInAsync(ModelUser user, bool viaCookie)
    {
        using var client = app.Anonymous();
        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = user.Password, useCookie = viaCookie });
        var refusal = user.Status switch
        {
            "deleted" => "account_deleted",
            "deactivated" => "account_deactivated",
            _ when user.Banned => "account_banned",
            _ => null,
        };
        if (refusal is not null)
        {
            var problem = await ReadAsync(response);
            Assert.True(problem.TryGetProperty("code", out var code) && code.GetString() is "account_deleted" or "account_deactivated" or "account_banned" or "invalid_credentials",
                $"{_step}: a login of {user} ({user.Describe()}) was not refused: {(int)response.StatusCode} {problem}");
            return;
        }

        var body = await ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{_step}: the login of {user} ({user.Describe()}) failed: {(int)response.StatusCode} {body}");
        var token = viaCookie
            ? response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("tessera_session=", StringComparison.Ordinal)).Split(';')[0]["tessera_session=".Length..]
            : body.GetProperty("token").GetString()!;
        _sessions.Add(new ModelSession(_sessions.Count, body.GetProperty("session").GetProperty("id").GetString()!, token, viaCookie, user));
    }

    /// <summary>A user's own call with one of their sessions; a session the model says is dead must be refused instead.</summary>
    private async Task AsHolderAsync(ModelSession session, Func<HttpClient, Task<HttpResponseMessage>> call, HttpStatusCode expected, Action applied)
    {
        using var client = Client(session);
        var response = await call(client);
        if (!Holds(session))
        {
            await AssertRefusedAsync(session, response);
            return;
        }

        await AssertStatusAsync(response, expected);
        applied();
    }

    private async Task DecideAsync(ModelUser user, string decision, Action<ModelUser> applied)
    {
        var response = await _admin!.Post($"/v1/admin/users/{user.Id}/{decision}", decision is "ban" or "deactivate" ? new { reason = "property test" } : new { });
        if (user.Status == "deleted")
        {
            await response.AssertProblemAsync(HttpStatusCode.Conflict, "user_deleted");
            return;
        }

        await AssertStatusAsync(response, HttpStatusCode.OK);
        applied(user);
    }

    private async Task CheckEveryTokenAsync()
    {
        foreach (var session in _sessions)
        {
            using var client = Client(session);
            var response = await client.Get("/v1/auth/session");
            if (Holds(session))
            {
                var body = await ReadAsync(response);
                Assert.True(response.StatusCode == HttpStatusCode.OK && body.GetProperty("session").GetProperty("id").GetString() == session.Id,
                    $"{_step}: {session} ({session.Describe()}) should hold, got {(int)response.StatusCode} {body}");
            }
            else
            {
                await AssertRefusedAsync(session, response);
            }
        }
    }

    /// <summary>A 401 with a code the model allows: the session's own revocation (with its reason) or the state of its user.</summary>
    private async Task AssertRefusedAsync(ModelSession session, HttpResponseMessage response)
    {
        var problem = await ReadAsync(response);
        var code = problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("code", out var c) ? c.GetString() : null;
        var allowed = new List<string>();
        if (session.Revoked is not null)
        {
            allowed.Add("session_revoked");
        }

        allowed.AddRange(session.User.Status switch
        {
            "deleted" => ["account_deleted"],
            "deactivated" => ["account_deactivated"],
            _ => [],
        });
        if (session.User.Banned)
        {
            allowed.Add("account_banned");
        }

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized && code is not null && allowed.Contains(code),
            $"{_step}: {session} ({session.Describe()}) should be refused with one of [{string.Join(", ", allowed)}], got {(int)response.StatusCode} {problem}");
        if (code == "session_revoked")
        {
            Assert.True(problem.GetProperty("reason").GetString() == session.Revoked,
                $"{_step}: {session} ({session.Describe()}) was refused with reason {problem.GetProperty("reason")}");
        }
    }

    private void Revoke(ModelUser user, string reason, ModelSession? only = null, ModelSession? except = null)
    {
        foreach (var session in _sessions.Where(s => s.User == user && s.Revoked is null && s != except && (only is null || s == only)))
        {
            session.Revoked = reason;
        }
    }

    private static bool Holds(ModelSession session) =>
        session.Revoked is null && session.User.Status == "active" && !session.User.Banned;

    private ModelSession? Pick(int pick) => _sessions.Count == 0 ? null : _sessions[pick % _sessions.Count];

    private HttpClient Client(ModelSession session) => session.ViaCookie ? app.WithCookie(session.Token) : app.WithToken(session.Token);

    private async Task AssertStatusAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.ReadTextAsync();
        Assert.True(response.StatusCode == expected, $"{_step}: expected {(int)expected}, got {(int)response.StatusCode} {text}");
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.ReadTextAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private sealed class ModelUser(int index, string id, string email, string password)
    {
        public string Id { get; } = id;

        public string Email { get; } = email;

        public string Password { get; set; } = password;

        public string Status { get; set; } = "active";

        public bool Banned { get; set; }

        public override string ToString() => $"u{index}";

        public string Describe() => Status + (Banned ? ", banned" : string.Empty);
    }

    private sealed class ModelSession(int index, string id, string token, bool viaCookie, ModelUser user)
    {
        public string Id { get; } = id;

        public string Token { get; } = token;

        public bool ViaCookie { get; } = viaCookie;

        public ModelUser User { get; } = user;

        public string? Revoked { get; set; }

        public override string ToString() => $"#{index}";

        public string Describe() => $"{(ViaCookie ? "cookie" : "bearer")} of {User} ({User.Describe()})" + (Revoked is { } r ? $", revoked ({r})" : string.Empty);
    }
}

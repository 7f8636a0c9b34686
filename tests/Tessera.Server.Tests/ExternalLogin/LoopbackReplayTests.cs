using System.Net;
using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Server.Tests.Security;
using Tessera.Testing;

namespace Tessera.Server.Tests.ExternalLogin;

/// <summary>
/// A loopback code exchanged twice (RFC 6749 section 4.1.2): the replay is refused, and the session the first exchange
/// made ends (<c>sign_in_code_replayed</c>) in the replay's write, audited with why; a replay of a code whose session has
/// already ended changes nothing. On each store: the session the code made is remembered on the code's row.
/// </summary>
public abstract class LoopbackReplayTests : IAsyncLifetime
{
    private static readonly string Sentence = RevocationReason.SignInCodeReplayed.Describe();

    private TestOpenIdProvider _provider = null!;

    protected TesseraApp App { get; private set; } = null!;

    private LoopbackFlow Flow => new(App);

    public async ValueTask InitializeAsync()
    {
        _provider = await TestOpenIdProvider.StartAsync(LoopbackFlow.CallbackUri);
        App = await StartAppAsync(_provider.TesseraSettings(LoopbackFlow.Name, "Corp ID"));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAppAsync();
        await _provider.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected abstract Task<TesseraApp> StartAppAsync(Dictionary<string, string?> settings);

    protected abstract ValueTask StopAppAsync();

    [Fact]
    public async Task A_replayed_code_is_refused_and_ends_the_session_its_first_exchange_made_saying_why()
    {
        _provider.Person = ProviderPerson.New();
        var (first, verifier, signedIn) = await Flow.SignInAsync();
        var (_, _, other) = await Flow.SignInAsync();
        var userId = signedIn.UserId;
        using var listening = App.WithToken(signedIn.Token);
        await using var stream = await EventStreamClient.ConnectAsync(listening);

        using var thief = App.Anonymous();
        await (await thief.Post("/v1/auth/external/exchange", new { code = first.Code, codeVerifier = verifier }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_used");

        // The first session is refused on its next request, with the reason and its sentence; its open stream is told.
        using (var victim = App.WithToken(signedIn.Token))
        {
            var problem = await (await victim.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("sign_in_code_replayed", problem.Str("reason"));
            Assert.Equal(Sentence, problem.Str("detail"));
        }

        var pushed = await stream.ExpectRevokedAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(("sign_in_code_replayed", Sentence), (pushed.Str("reason"), pushed.Str("message")));

        // Only that session: the same person's sign-in through another code holds.
        using (var bystander = App.WithToken(other.Token))
        {
            await (await bystander.Get("/v1/auth/session")).AssertOkJsonAsync();
        }

        // The audit log says why: the session ended by Tessera itself for the replay, and the replay as a failed login.
        var revoked = Assert.Single(await Flow.AuditAsync(userId, AuditActions.SessionRevoked));
        Assert.Equal("sign_in_code_replayed", revoked.Reason);
        Assert.Equal([signedIn.SessionId], revoked.SessionIds);
        Assert.Equal(ActorKind.System, revoked.Actor.Kind);
        Assert.Contains(await Flow.AuditAsync(userId, AuditActions.LoginFailed), e => e.Reason == $"external_code_used via {LoopbackFlow.Name}");

        // And an admin reads the same through the API.
        using var admin = await App.AdminAsync();
        var events = (await (await admin.Get($"/v1/admin/audit?userId={userId}&action=session.revoked")).AssertOkJsonAsync()).Items("events");
        Assert.Equal("sign_in_code_replayed", Assert.Single(events).Str("reason"));
    }

    [Fact]
    public async Task A_replay_of_a_code_whose_session_already_ended_changes_nothing()
    {
        _provider.Person = ProviderPerson.New();
        var (first, verifier, signedIn) = await Flow.SignInAsync();
        using (var owner = App.WithToken(signedIn.Token))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await owner.Post("/v1/auth/logout")).StatusCode);
        }

        var before = await Flow.AuditAsync(signedIn.UserId, AuditActions.SessionRevoked);

        using var thief = App.Anonymous();
        await (await thief.Post("/v1/auth/external/exchange", new { code = first.Code, codeVerifier = verifier }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_used");

        // Still ended as the person ended it, and no second revocation written.
        using (var owner = App.WithToken(signedIn.Token))
        {
            var problem = await (await owner.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("signed_out", problem.Str("reason"));
        }

        var after = await Flow.AuditAsync(signedIn.UserId, AuditActions.SessionRevoked);
        Assert.Equal(before.Select(e => e.Id), after.Select(e => e.Id));
        Assert.Equal("signed_out", Assert.Single(after).Reason);
    }

    [Fact]
    public async Task A_replay_of_a_code_spent_by_a_wrong_verifier_has_no_session_to_end()
    {
        _provider.Person = ProviderPerson.New();
        var verifier = LoopbackFlow.NewVerifier();
        var arrival = await Flow.RoundTripAsync(verifier);
        var (_, _, other) = await Flow.SignInAsync();

        using var client = App.Anonymous();
        await (await client.Post("/v1/auth/external/exchange", new { code = arrival.Code, codeVerifier = LoopbackFlow.NewVerifier() }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_verifier_mismatch");
        await (await client.Post("/v1/auth/external/exchange", new { code = arrival.Code, codeVerifier = verifier }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_used");

        using (var bystander = App.WithToken(other.Token))
        {
            await (await bystander.Get("/v1/auth/session")).AssertOkJsonAsync();
        }

        Assert.Empty(await Flow.AuditAsync(other.UserId, AuditActions.SessionRevoked));
    }
}

/// <summary>The replay on the default store, a SQLite file.</summary>
public sealed class LoopbackReplayOnSqliteTests : LoopbackReplayTests
{
    protected override Task<TesseraApp> StartAppAsync(Dictionary<string, string?> settings) => Task.FromResult(new TesseraApp(settings: settings));

    protected override ValueTask StopAppAsync() => App.DisposeAsync();
}

/// <summary>The replay on PostgreSQL, where the code's row is locked by the exchange that reads it.</summary>
public sealed class LoopbackReplayOnPostgresTests : LoopbackReplayTests
{
    private PostgresApp? _postgres;

    protected override async Task<TesseraApp> StartAppAsync(Dictionary<string, string?> settings)
    {
        _postgres = await PostgresApp.StartAsync(settings);
        return _postgres.App;
    }

    protected override ValueTask StopAppAsync() => _postgres?.DisposeAsync() ?? ValueTask.CompletedTask;
}

using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Caching;
using Tessera.Server.Revocations;
using Tessera.Server.Tests.Clients;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Server.Tests.Scenarios;

namespace Tessera.Server.Tests.Revocations;

/// <summary>A real server on a loopback port for the revocation stream tests of a class, with room for failed client authentications.</summary>
public sealed class RevocationsApp : IAsyncLifetime
{
    public TesseraApp App { get; } = new(loopback: true, settings: new Dictionary<string, string?>
    {
        // These tests fail authentications on purpose; the throttle has its own test.
        ["Tessera:RateLimiting:FailedClientAuthenticationsBeforeBackoff"] = "100000",
        ["Tessera:Clients:MaxRevocationStreamsPerClient"] = "3",
    });

    public ValueTask InitializeAsync()
    {
        App.Anonymous().Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}

/// <summary>
/// GET /v1/revocations and POST /v1/revocations/ack end to end over real HTTP: the opening of a stream, one <c>revoked</c>
/// event per way of ending a session (through the API, /oauth2/revoke and the sqlite3 shell), resuming, heartbeats and
/// their leases, the refusals, and the end of a disabled client's stream.
/// </summary>
public sealed class RevocationStreamTests(RevocationsApp fixture) : IClassFixture<RevocationsApp>
{
    private readonly TesseraApp _app = fixture.App;

    [Fact]
    public async Task A_stream_opens_with_a_reset_then_hello_then_a_heartbeat_that_grants_the_lease()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        await using var stream = await RevocationStreamClient.ConnectAsync(_app, clientId, secret);
        Assert.True(stream.Response.Headers.CacheControl?.NoCache, stream.Response.Headers.CacheControl?.ToString());
        Assert.Equal("no", stream.Response.Headers.GetValues("X-Accel-Buffering").Single());

        var reset = await stream.NextAsync();
        Assert.Equal("reset", reset.EventType);
        Assert.Equal("new_stream", RevocationStreamClient.Data(reset).Str("reason"));
        var log = _app.Services.GetRequiredService<RevocationLog>();
        Assert.Equal(log.IdOf(log.Head), reset.EventId);

        var hello = RevocationStreamClient.Data(await stream.NextAsync());
        Assert.StartsWith("local~", hello.Str("stream"), StringComparison.Ordinal);
        Assert.Equal(1000, hello.GetProperty("lease").GetInt64());
        Assert.Equal(250, hello.GetProperty("heartbeat").GetInt64());
        Assert.Equal(0, hello.GetProperty("settle").GetInt64());

        var first = await stream.NextHeartbeatAsync(skipOthers: true);
        var later = await stream.NextHeartbeatAsync(heartbeat => heartbeat.GetProperty("lease").GetInt64() == 1000);
        Assert.InRange(first.GetProperty("elapsed").GetInt64(), 0, 60_000);
        Assert.True(later.GetProperty("elapsed").GetInt64() >= first.GetProperty("elapsed").GetInt64());
    }

    public static TheoryData<string> Actions => ["ban", "deactivate", "delete", "password_change", "sign_out_all", "revoke_one", "oauth2_revoke"];

    [Theory]
    [MemberData(nameof(Actions))]
    public async Task Each_way_of_ending_a_session_gives_one_revoked_event_with_the_user_sessions_and_reason(string action)
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations", "revoke");
        var user = await _app.NewUserAsync(sessions: 2);
        var both = new[] { user.Sessions[0].SessionId, user.Sessions[1].SessionId };
        using var admin = await _app.AdminAsync();
        using var own = _app.WithToken(user.Token);
        await CaughtUpAsync();
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);

        Func<Task<HttpResponseMessage>> call = action switch
        {
            "ban" => () => admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "abuse" }),
            "deactivate" => () => admin.Post($"/v1/admin/users/{user.Id}/deactivate"),
            "delete" => () => admin.Delete($"/v1/admin/users/{user.Id}"),
            "password_change" => () => own.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "brand-new-password-7" }),
            "sign_out_all" => () => own.Post("/v1/sessions/revoke-all"),
            "revoke_one" => () => own.Delete($"/v1/sessions/{both[1]}"),
            _ => () => OAuthRequests.SendAsync(_app, "/oauth2/revoke", [new("token", user.Sessions[1].Token)], OAuthRequests.Basic(clientId, secret), null),
        };
        var (reason, sessions, userChanged) = action switch
        {
            "ban" => ("user_banned", both, true),
            "deactivate" => ("user_deactivated", both, true),
            "delete" => ("user_deleted", both, true),
            "password_change" => ("password_changed", both[1..], true),
            "sign_out_all" => ("signed_out_all_devices", both, false),
            "revoke_one" => ("revoked_by_user", both[1..], false),
            _ => ("token_revoked", both[1..], false),
        };

        var calling = call();
        var (id, revoked) = await stream.NextRevokedAsync();
        Assert.Equal(user.Id, revoked.Str("userId"));
        Assert.Equal(sessions.Order(), revoked.GetProperty("sessionIds").EnumerateArray().Select(s => s.GetString()!).Order());
        Assert.Equal(reason, revoked.Str("reason"));
        Assert.Equal(userChanged, revoked.GetProperty("userChanged").GetBoolean());

        await stream.AcknowledgeAsync(clientId, secret);
        Assert.True((await calling).IsSuccessStatusCode);

        // One event: once the store's change feed has read the change back, the log holds nothing after it.
        await CaughtUpAsync();
        Assert.Equal(id, _app.Services.GetRequiredService<RevocationLog>().IdOf(_app.Services.GetRequiredService<RevocationLog>().Head));
    }

    [Theory]
    [InlineData("UPDATE users SET banned = 1 WHERE id = '{user}'", false, null, true)]
    [InlineData("UPDATE sessions SET revoked_at = {now}, revoke_reason = 'revoked_by_admin' WHERE id = '{session}'", true, "revoked_by_admin", false)]
    public async Task A_change_written_by_another_process_gives_one_revoked_event(string sql, bool withSession, string? reason, bool userChanged)
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var user = await _app.NewUserAsync();
        await CaughtUpAsync();
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);

        await Sqlite3.ExecuteAsync(_app.DatabasePath, DirectSqliteChangeScenarios.Fill(sql, user));

        var (id, revoked) = await stream.NextRevokedAsync();
        Assert.Equal(user.Id, revoked.Str("userId"));
        Assert.Equal(withSession ? [user.Session.SessionId] : Array.Empty<string>(), revoked.GetProperty("sessionIds").EnumerateArray().Select(s => s.GetString()!));
        Assert.Equal(reason, revoked.GetProperty("reason").ValueKind == JsonValueKind.Null ? null : revoked.Str("reason"));
        Assert.Equal(userChanged, revoked.GetProperty("userChanged").GetBoolean());
        await CaughtUpAsync();
        var log = _app.Services.GetRequiredService<RevocationLog>();
        Assert.Equal(id, log.IdOf(log.Head));
    }

    [Fact]
    public async Task A_resume_with_Last_Event_ID_replays_exactly_the_missed_entries_and_no_reset()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var first = await _app.NewUserAsync();
        var second = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();
        await CaughtUpAsync();
        string lastSeen;
        await using (var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret))
        {
            lastSeen = stream.LastEventId!;
        }

        // The first stream is gone; its app's lease runs out, and these calls return.
        await (await admin.Post($"/v1/admin/users/{first.Id}/ban")).AssertOkJsonAsync();
        await (await admin.Post($"/v1/admin/users/{second.Id}/deactivate")).AssertOkJsonAsync();
        await CaughtUpAsync();

        await using var resumed = await RevocationStreamClient.ConnectAsync(_app, clientId, secret, lastEventId: lastSeen);
        var (firstId, replayedFirst) = await resumed.NextRevokedAsync();
        var (secondId, replayedSecond) = await resumed.NextRevokedAsync();
        Assert.Equal((first.Id, "user_banned"), (replayedFirst.Str("userId"), replayedFirst.Str("reason")));
        Assert.Equal((second.Id, "user_deactivated"), (replayedSecond.Str("userId"), replayedSecond.Str("reason")));
        Assert.Equal(RevocationStreamClient.SequenceOf(lastSeen) + 1, RevocationStreamClient.SequenceOf(firstId));
        Assert.Equal(RevocationStreamClient.SequenceOf(firstId) + 1, RevocationStreamClient.SequenceOf(secondId));
        Assert.Equal("hello", (await resumed.NextAsync()).EventType);

        // Resuming from the head replays nothing.
        await using var current = await RevocationStreamClient.ConnectAsync(_app, clientId, secret, lastEventId: secondId);
        Assert.Equal("hello", (await current.NextAsync()).EventType);
    }

    [Theory]
    [InlineData("0123456789abcdef.1", "node_restarted")]
    [InlineData("not an id", "node_restarted")]
    [InlineData("{log}.999999999", "gap")]
    public async Task An_id_this_log_cannot_resume_from_gets_a_reset_with_the_reason(string lastEventId, string reason)
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var log = _app.Services.GetRequiredService<RevocationLog>();
        await using var stream = await RevocationStreamClient.ConnectAsync(_app, clientId, secret, lastEventId.Replace("{log}", log.Name, StringComparison.Ordinal));

        var reset = await stream.NextAsync();
        Assert.Equal("reset", reset.EventType);
        Assert.Equal(reason, RevocationStreamClient.Data(reset).Str("reason"));
        Assert.Equal(log.Name, reset.EventId![..reset.EventId!.IndexOf('.', StringComparison.Ordinal)]);
        Assert.Equal("hello", (await stream.NextAsync()).EventType);
    }

    [Fact]
    public async Task While_the_node_distrusts_its_cache_heartbeats_grant_no_lease_and_trust_regained_resets_every_app()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        await CaughtUpAsync();
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);
        await stream.NextHeartbeatAsync(heartbeat => heartbeat.GetProperty("lease").GetInt64() == 1000);
        var cache = _app.Services.GetRequiredService<SessionCache>();

        cache.Distrust("revocation-test");
        try
        {
            await stream.NextHeartbeatAsync(heartbeat => heartbeat.GetProperty("lease").GetInt64() == 0);
            await stream.NextHeartbeatAsync(heartbeat => heartbeat.GetProperty("lease").GetInt64() == 0);
        }
        finally
        {
            cache.Trust("revocation-test");
        }

        // Before any heartbeat grants a lease again, every app is told to drop what it holds.
        while (true)
        {
            var item = await stream.NextAsync();
            if (item.EventType == "heartbeat")
            {
                Assert.Equal(0, RevocationStreamClient.Data(item).GetProperty("lease").GetInt64());
                continue;
            }

            Assert.Equal("reset", item.EventType);
            Assert.Equal("trust_regained", RevocationStreamClient.Data(item).Str("reason"));
            break;
        }

        await stream.NextHeartbeatAsync(heartbeat => heartbeat.GetProperty("lease").GetInt64() == 1000);
    }

    [Fact]
    public async Task The_ack_endpoint_answers_204_404_and_400_for_each_malformed_shape()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);
        using var http = _app.Anonymous();
        var basic = OAuthRequests.Basic(clientId, secret);

        Assert.Equal(HttpStatusCode.NoContent, (await RevocationStreamClient.AcknowledgeAsync(http, clientId, secret, stream.StreamId!, 0)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await RevocationStreamClient.AcknowledgeAsync(http, clientId, secret, stream.StreamId!, long.MaxValue)).StatusCode);
        await (await RevocationStreamClient.AcknowledgeAsync(http, clientId, secret, "local~unknown", 1)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await RevocationStreamClient.AcknowledgeAsync(http, clientId, secret, "elsewhere~x", 1)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        // Another app that saw this stream's id (in a log, say) cannot confirm for it: answered as an unknown stream.
        var (otherId, otherSecret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        await (await RevocationStreamClient.AcknowledgeAsync(http, otherId, otherSecret, stream.StreamId!, 1)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        foreach (var body in new[]
        {
            "", "null", "[]", "{}", "\"x\"", "not json", """{"stream": "x"}""", """{"through": 1}""", """{"stream": "", "through": 1}""",
            """{"stream": 1, "through": 1}""", """{"stream": "x", "through": -1}""", """{"stream": "x", "through": 1.5}""",
            """{"stream": "x", "through": "1"}""", """{"stream": "x", "through": 99999999999999999999}""", """{"stream": "x", "through": null}""",
            """{"stream": "a\u0000b", "through": 1}""", """{"stream": "\ud800", "through": 1}""", $$"""{"stream": "{{new string('x', 300)}}", "through": 1}""",
        })
        {
            var response = await RevocationStreamClient.PostAckAsync(http, basic, body);
            await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        }

        await (await RevocationStreamClient.PostAckAsync(http, basic, null)).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await RevocationStreamClient.PostAckAsync(http, basic, "stream=x", "text/plain")).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        var huge = JsonSerializer.Serialize(new { stream = new string('x', 70_000), through = 1 });
        await (await RevocationStreamClient.PostAckAsync(http, basic, huge)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public async Task Both_routes_refuse_a_wrong_missing_or_disabled_client_with_401_and_a_client_without_the_scope_with_403()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var (introspector, introspectorSecret) = await OAuthRequests.CreateClientAsync(_app, "introspect", "revoke");
        var (disabled, disabledSecret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        using (var admin = await _app.AdminAsync())
        {
            await (await admin.Post($"/v1/admin/clients/{disabled}/disable")).AssertOkJsonAsync();
        }

        using var http = _app.Anonymous();
        var ack = JsonSerializer.Serialize(new { stream = "local~x", through = 1 });
        foreach (var authorization in new string?[]
        {
            null, OAuthRequests.Basic(clientId, secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A')), OAuthRequests.Basic("cli_unknown", secret),
            OAuthRequests.Basic(disabled, disabledSecret), "Bearer " + secret, "Basic !!!", $"Basic {OAuthRequests.B64(clientId)}",
        })
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, "/v1/revocations");
            if (authorization is not null)
            {
                get.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            var refused = await http.Submit(get);
            await refused.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_client");
            Assert.Equal("Basic realm=\"tessera\"", refused.Headers.WwwAuthenticate.ToString());
            await (await RevocationStreamClient.PostAckAsync(http, authorization, ack)).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_client");
        }

        using var withoutScope = new HttpRequestMessage(HttpMethod.Get, "/v1/revocations");
        withoutScope.Headers.TryAddWithoutValidation("Authorization", OAuthRequests.Basic(introspector, introspectorSecret));
        await (await http.Submit(withoutScope)).AssertProblemAsync(HttpStatusCode.Forbidden, "insufficient_scope");
        await (await RevocationStreamClient.PostAckAsync(http, OAuthRequests.Basic(introspector, introspectorSecret), ack))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "insufficient_scope");
    }

    [Fact]
    public async Task A_client_holds_a_bounded_number_of_streams_and_gets_429_beyond()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var open = new List<RevocationStreamClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                open.Add(await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret));
            }

            using var http = _app.Anonymous();
            using var fourth = new HttpRequestMessage(HttpMethod.Get, "/v1/revocations");
            fourth.Headers.TryAddWithoutValidation("Authorization", OAuthRequests.Basic(clientId, secret));
            var refused = await http.Submit(fourth);
            var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
            Assert.True(problem.GetProperty("retryAfter").GetInt32() >= 1);

            // Another client is not counted with this one.
            var (other, otherSecret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
            await using var theirs = await RevocationStreamClient.ConnectAndGreetAsync(_app, other, otherSecret);
        }
        finally
        {
            foreach (var stream in open)
            {
                await stream.DisposeAsync();
            }
        }

        // Once one is closed (and the server noticed), the client may open another.
        var streams = _app.Services.GetRequiredService<RevocationStreams>();
        await WaitUntilAsync(() => !streams.Open.Any(stream => stream.ClientId == clientId), "the closed streams were not noticed");
        await using var again = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);
    }

    [Fact]
    public async Task A_disabled_clients_stream_ends_with_closed_at_once()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);

        using (var admin = await _app.AdminAsync())
        {
            await (await admin.Post($"/v1/admin/clients/{clientId}/disable")).AssertOkJsonAsync();
        }

        var closed = await stream.NextNotHeartbeatAsync();
        Assert.Equal("closed", closed.EventType);
        Assert.Equal("client_disabled", RevocationStreamClient.Data(closed).Str("code"));
        Assert.Null(await stream.NextOrEndAsync());
    }

    [Fact]
    public async Task A_client_disabled_behind_the_nodes_back_has_its_stream_closed_within_a_second()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);

        // Another node's disable looks like this one to this node: the row changed, and nobody said so.
        await Sqlite3.ExecuteAsync(_app.DatabasePath, string.Create(CultureInfo.InvariantCulture,
            $"UPDATE service_clients SET disabled_at = {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} WHERE id = '{clientId}'"));

        var closed = await stream.NextNotHeartbeatAsync();
        Assert.Equal("closed", closed.EventType);
        Assert.Equal("client_disabled", RevocationStreamClient.Data(closed).Str("code"));
    }

    [Fact]
    public async Task The_metrics_show_open_streams_and_how_long_revoking_calls_waited_for_apps()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);
        var user = await _app.NewUserAsync();
        using (var admin = await _app.AdminAsync())
        {
            var banning = admin.Post($"/v1/admin/users/{user.Id}/ban");
            await stream.NextRevokedForAsync(user.Id);

            await stream.AcknowledgeAsync(clientId, secret);
            await (await banning).AssertOkJsonAsync();
        }

        using var anonymous = _app.Anonymous();
        var metrics = await (await anonymous.Get("/metrics")).ReadTextAsync();
        Assert.Matches(@"(?m)^tessera_revocation_streams_open(\{\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^tessera_relying_apps_wait_seconds_count(\{\})? [1-9]", metrics);
    }

    /// <summary>Until the store's change feed has applied every commit so far (and so read back Tessera's own).</summary>
    private Task CaughtUpAsync()
    {
        var cache = _app.Services.GetRequiredService<SessionCache>();
        return WaitUntilAsync(() => cache.IsTrusted && cache.IsCurrent(), "the change watcher did not catch up");
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}

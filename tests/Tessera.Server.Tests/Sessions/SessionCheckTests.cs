using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tessera.Core.Sessions;
using Tessera.Core.Users;
using Tessera.Server.Authentication;
using Tessera.Server.Contracts;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Sessions;

/// <summary>
/// The two session checks that skip the pipeline (issue 15): who am I, and the light 204 check. What the pipeline gives
/// every other route they must give themselves: the token as the scheme reads it, the refusals with their codes, the
/// request guard, the cache headers; and the who-am-I body must stay the contract's, byte for byte.
/// </summary>
public sealed class SessionCheckTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task The_light_check_answers_204_with_the_ids_for_a_session_that_holds_by_GET_and_HEAD_by_Bearer_or_cookie()
    {
        var user = await _app.NewUserAsync();
        using var bearer = _app.WithToken(user.Token);
        using var cookie = _app.WithCookie(user.Token);

        foreach (var (client, method) in new[] { (bearer, HttpMethod.Get), (bearer, HttpMethod.Head), (cookie, HttpMethod.Get) })
        {
            using var request = new HttpRequestMessage(method, SessionCheckEndpoints.CheckPath);
            using var response = await client.Submit(request);

            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(user.Id, response.Headers.GetValues(SessionCheckEndpoints.UserIdHeader).Single());
            Assert.Equal(user.Session.SessionId, response.Headers.GetValues(SessionCheckEndpoints.SessionIdHeader).Single());
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{method}: Cache-Control is '{response.Headers.CacheControl}'");
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Empty(await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task Both_checks_refuse_a_missing_malformed_or_revoked_token_with_the_sessions_401()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var anonymous = _app.Anonymous();
        using var malformed = _app.WithToken("not-a-token");
        using var other = _app.WithToken(user.Sessions[1].Token);
        (await other.Post("/v1/sessions/revoke-all")).EnsureSuccessStatusCode();
        using var revoked = _app.WithToken(user.Token);

        foreach (var path in new[] { SessionCheckEndpoints.WhoAmIPath, SessionCheckEndpoints.CheckPath })
        {
            foreach (var client in new[] { anonymous, malformed })
            {
                var refused = await client.Get(path);
                await refused.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
                Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
                Assert.True(refused.Headers.CacheControl?.NoStore == true);
            }

            var ended = await (await revoked.Get(path)).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("signed_out_all_devices", ended.GetProperty("reason").GetString());
        }
    }

    [Fact]
    public async Task The_checks_keep_the_request_guard_a_declared_body_too_large_and_a_NUL_in_the_query_are_refused()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        foreach (var path in new[] { SessionCheckEndpoints.WhoAmIPath, SessionCheckEndpoints.CheckPath })
        {
            using var large = new HttpRequestMessage(HttpMethod.Get, path)
            {
                Content = new ByteArrayContent(new byte[(int)Tessera.Server.Http.RequestGuard.MaxBodyBytes + 1]),
            };
            await (await client.Submit(large)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");

            await (await client.Get(path + "?x=%00")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        }
    }

    [Fact]
    public async Task Who_am_I_is_the_same_answer_as_before_for_a_session_signed_in_directly()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var response = await client.Get(SessionCheckEndpoints.WhoAmIPath);

        var body = await response.AssertOkJsonAsync();
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(response.Content.Headers.ContentLength, (await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken)).Length);
        Assert.Equal(user.Session.SessionId, body.GetProperty("session").GetProperty("id").GetString());
        Assert.True(body.GetProperty("session").GetProperty("current").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("session").GetProperty("clientId").ValueKind);
        Assert.Equal(user.Id, body.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal(user.Email, body.GetProperty("user").GetProperty("email").GetString());
    }

    public static TheoryData<string, string?, bool, string?> Shapes => new()
    {
        { "Ada", null, false, null },
        { "José <b>&\"'</b> 日本 \u2028", "Portal é", true, "cli_123" },
        { "Banned", null, true, null },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_who_am_I_writer_writes_what_the_APIs_serializer_writes_for_the_DTOs(string name, string? clientName, bool banned, string? clientId)
    {
        var options = _app.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var now = new DateTimeOffset(2026, 12, 7, 10, 30, 15, 123, TimeSpan.Zero);
        var idle = TimeSpan.FromDays(7);
        var session = new Session
        {
            Id = "ses_1",
            TokenHash = default,
            UserId = "usr_1",
            Device = new DeviceInfo(name + " phone", DevicePlatform.Mobile, "iOS 19", banned ? null : "Safari", "UA"),
            IpAddress = banned ? null : "2001:db8::1",
            ClientId = clientId,
            CreatedAt = now.AddDays(-2).AddTicks(1234567),
            LastActiveAt = now.AddHours(-1),
            AbsoluteExpiresAt = now.AddDays(3),
        };
        var user = new User
        {
            Id = "usr_1",
            Email = "ada@example.com",
            DisplayName = name,
            Role = banned ? UserRole.Admin : UserRole.User,
            Banned = banned,
            BannedUntil = banned ? now.AddDays(1) : null,
            CreatedAt = now.AddYears(-1),
            UpdatedAt = now.AddDays(-1),
        };
        var lastActive = now.AddMinutes(-3);
        var names = clientId is null || clientName is null ? null : new Dictionary<string, string> { [clientId] = clientName };

        var expected = JsonSerializer.Serialize(
            new WhoAmIResponse(SessionDto.From(new ActiveSession(session, lastActive, session.ExpiresAt(lastActive, idle)), session.Id, names), UserDto.From(user, now)),
            options);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = options.Encoder }))
        {
            SessionCheckEndpoints.WriteWhoAmI(writer, new Tessera.Core.Caching.CachedSession(default, session, new Tessera.Core.Caching.CachedUser(user), lastActive), clientName, now, idle);
        }

        Assert.Equal(expected, Encoding.UTF8.GetString(stream.ToArray()));
    }
}

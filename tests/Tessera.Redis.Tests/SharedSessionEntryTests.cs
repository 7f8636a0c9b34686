using Xunit;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Tessera.Core.Caching;
using Tessera.Core.Devices;
using Tessera.Core.Sessions;
using Tessera.Core.Users;
using Tessera.Redis.Caching;

namespace Tessera.Redis.Tests;

/// <summary>The shared cache's copy of a session keeps everything a verdict or an introspection answer depends on.</summary>
public sealed class SharedSessionEntryTests
{
    private static readonly TokenHash Token = TokenHash.FromBytes(SHA256.HashData("shared-entry"u8));

    [Fact]
    public void A_session_made_through_a_client_keeps_its_client()
    {
        var read = RoundTrip(Found(clientId: "cl-portal"));

        Assert.Equal("cl-portal", read.Session.ClientId);
    }

    [Fact]
    public void A_session_made_directly_stays_without_a_client()
    {
        var read = RoundTrip(Found(clientId: null));

        Assert.Null(read.Session.ClientId);
    }

    [Fact]
    public void An_entry_without_the_client_member_is_a_miss_not_a_session_made_directly()
    {
        // What a node of the version before sessions kept their client wrote: read as "made directly", it would let
        // every client introspect and revoke another client's session.
        var json = JsonNode.Parse(SharedSessionEntry.Serialize(Found(clientId: "cl-portal"), "inc-1", 7))!.AsObject();
        Assert.True(json.Remove("clientId"));

        Assert.Null(SharedSessionEntry.TryRead(json.ToJsonString()));
    }

    private static SessionWithUser RoundTrip(SessionWithUser found)
    {
        var entry = SharedSessionEntry.TryRead(SharedSessionEntry.Serialize(found, "inc-1", 7));
        Assert.NotNull(entry);
        var read = entry.ToSessionWithUser(Token);
        Assert.NotNull(read);
        return read;
    }

    private static SessionWithUser Found(string? clientId)
    {
        var at = DateTimeOffset.UnixEpoch;
        var user = new User { Id = "u-1", Email = "u1@example.test", DisplayName = "u1", CreatedAt = at, UpdatedAt = at };
        var session = new Session
        {
            Id = "s-1",
            TokenHash = Token,
            UserId = user.Id,
            Device = new DeviceInfo("test", DevicePlatform.Cli, null, null, null),
            CreatedAt = at,
            LastActiveAt = at,
            AbsoluteExpiresAt = at.AddDays(1),
            ClientId = clientId,
        };
        return new SessionWithUser(session, user);
    }
}

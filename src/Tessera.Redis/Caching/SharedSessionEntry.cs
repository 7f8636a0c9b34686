using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Core;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Redis.Caching;

/// <summary>
/// A session and its user as one node read them from the store, kept in Redis for the other nodes, stamped with the
/// Redis incarnation and the tick read before that store read (see <see cref="SharedEntryGate"/>). The password hash
/// never leaves the store.
/// </summary>
internal sealed record SharedSessionEntry(
    string Inc,
    long Tick,
    string SessionId,
    string UserId,
    string? DeviceName,
    string Platform,
    string? Os,
    string? Browser,
    string? UserAgent,
    string? Ip,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActiveAt,
    DateTimeOffset AbsoluteExpiresAt,
    DateTimeOffset? RevokedAt,
    string? RevokedBy,
    string? RevokeReason,
    string Email,
    string DisplayName,
    string Role,
    string Status,
    bool Banned,
    DateTimeOffset? BannedUntil,
    string? BanReason,
    long SecurityVersion,
    DateTimeOffset UserCreatedAt,
    DateTimeOffset UserUpdatedAt,
    // Required, though it may be null: an entry written by a node of a version without it must not read as a session
    // made directly (which every client may introspect and revoke), but as a miss.
    [property: JsonRequired] string? ClientId)
{
    public static string Serialize(SessionWithUser found, string incarnation, long tick)
    {
        var (session, user) = (found.Session, found.User);
        var entry = new SharedSessionEntry(
            incarnation, tick, session.Id, session.UserId, session.Device.Name, WireNames.PlatformName(session.Device.Platform),
            session.Device.Os, session.Device.Browser, session.Device.UserAgent, session.IpAddress, session.CreatedAt, session.LastActiveAt,
            session.AbsoluteExpiresAt, session.RevokedAt, session.RevokedBy, session.RevokeReason?.ToWireName(), user.Email, user.DisplayName,
            WireNames.RoleName(user.Role), WireNames.StatusName(user.Status), user.Banned, user.BannedUntil, user.BanReason, user.SecurityVersion,
            user.CreatedAt, user.UpdatedAt, session.ClientId);
        return JsonSerializer.Serialize(entry, SharedEntryJsonContext.Default.SharedSessionEntry);
    }

    /// <summary>The entry, or null when it cannot be read (another version's format, a damaged value): a miss.</summary>
    public static SharedSessionEntry? TryRead(string? json)
    {
        if (json is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, SharedEntryJsonContext.Default.SharedSessionEntry);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The session and user again; null when a name in it is not one this version knows.</summary>
    public SessionWithUser? ToSessionWithUser(TokenHash tokenHash)
    {
        try
        {
            RevocationReason? reason = null;
            if (RevokeReason is not null)
            {
                if (!RevocationReasons.TryParse(RevokeReason, out var parsed))
                {
                    return null;
                }

                reason = parsed;
            }

            var session = new Session
            {
                Id = SessionId,
                TokenHash = tokenHash,
                UserId = UserId,
                Device = new DeviceInfo(DeviceName, WireNames.ParsePlatform(Platform), Os, Browser, UserAgent),
                IpAddress = Ip,
                CreatedAt = CreatedAt,
                LastActiveAt = LastActiveAt,
                AbsoluteExpiresAt = AbsoluteExpiresAt,
                RevokedAt = RevokedAt,
                RevokedBy = RevokedBy,
                RevokeReason = reason,
                ClientId = ClientId,
            };
            var user = new User
            {
                Id = UserId,
                Email = Email,
                DisplayName = DisplayName,
                Role = WireNames.ParseRole(Role),
                Status = WireNames.ParseStatus(Status),
                Banned = Banned,
                BannedUntil = BannedUntil,
                BanReason = BanReason,
                SecurityVersion = SecurityVersion,
                CreatedAt = UserCreatedAt,
                UpdatedAt = UserUpdatedAt,
            };
            return new SessionWithUser(session, user);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SharedSessionEntry))]
internal sealed partial class SharedEntryJsonContext : JsonSerializerContext;

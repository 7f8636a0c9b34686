using Tessera.Core;
using System.Text.Json.Serialization;
using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Server.Contracts;

// The JSON shapes of API.md. Field names and values here are binding for every client.

public sealed record UserDto(
    string Id, string Email, string DisplayName, string Role, string Status, DateTimeOffset? BannedUntil, bool Banned, DateTimeOffset CreatedAt)
{
    public static UserDto From(User user, DateTimeOffset now) => new(
        user.Id,
        user.Email,
        user.DisplayName,
        WireNames.RoleName(user.Role),
        WireNames.StatusName(user.Status),
        user.Banned ? user.BannedUntil : null,
        user.IsBannedAt(now),
        user.CreatedAt);
}

public sealed record DeviceDto(string? Name, string Platform, string? Os, string? Browser)
{
    public static DeviceDto From(DeviceInfo device) =>
        new(device.Name, WireNames.PlatformName(device.Platform), device.Os, device.Browser);
}

/// <param name="ClientId">The service client the session was signed in through, or null for a session made directly.</param>
/// <param name="Client">That client's name, so a person can tell "Portal" from their own sign-in; null with no client.</param>
public sealed record SessionDto(
    string Id, DeviceDto Device, string? IpAddress, DateTimeOffset CreatedAt, DateTimeOffset LastActiveAt, DateTimeOffset ExpiresAt, bool Current,
    string? ClientId, string? Client)
{
    /// <param name="clientNames">Names by client id (<see cref="Tessera.Core.Clients.ServiceClients.NamesAsync"/>); none needed for sessions made directly.</param>
    public static SessionDto From(ActiveSession active, string? currentSessionId, IReadOnlyDictionary<string, string>? clientNames = null) => new(
        active.Session.Id,
        DeviceDto.From(active.Session.Device),
        active.Session.IpAddress,
        active.Session.CreatedAt,
        active.LastActiveAt,
        active.ExpiresAt,
        active.Session.Id == currentSessionId,
        active.Session.ClientId,
        active.Session.ClientId is { } clientId ? clientNames?.GetValueOrDefault(clientId) : null);
}

public sealed record ActorDto(string Kind, string? Id);

public sealed record AuditEventDto(
    string Id, DateTimeOffset At, string Action, ActorDto Actor, string? TargetUserId, IReadOnlyList<string> SessionIds, string? Reason, string? IpAddress)
{
    public static AuditEventDto From(AuditEvent e) => new(
        e.Id, e.At, e.Action, new ActorDto(WireNames.ActorKindName(e.Actor.Kind), e.Actor.Id), e.TargetUserId, e.SessionIds, e.Reason, e.IpAddress);
}

// Requests: every member nullable so that a missing field is a validation problem with a code, not a binding crash.

public sealed record RegisterRequest(string? Email, string? Password, string? DisplayName);

public sealed record DeviceRequest(string? Name, string? Platform, string? Os);

/// <summary>The visitor a service client signs in on behalf of: where their request came from and what their browser sent.</summary>
public sealed record VisitorRequest(string? IpAddress, string? UserAgent);

public sealed record LoginRequestBody(string? Email, string? Password, DeviceRequest? Device, bool? UseCookie, VisitorRequest? Visitor);

public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

public sealed record ResetRequestRequest(string? Email);

public sealed record ProfileRequest(string? DisplayName);

public sealed record ResetPasswordRequest(string? Token, string? NewPassword);

public sealed record ReasonRequest(string? Reason);

public sealed record BanRequest(string? Reason, DateTimeOffset? Until);

public sealed record BulkRequest(string? Action, IReadOnlyList<string>? UserIds, string? Reason, DateTimeOffset? Until);

// Responses.

public sealed record LoginResponse(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Token, SessionDto Session, UserDto User);

public sealed record WhoAmIResponse(SessionDto Session, UserDto User);

public sealed record UserResponse(UserDto User);

public sealed record SessionsResponse(IReadOnlyList<SessionDto> Sessions);

public sealed record RevokedResponse(int Revoked);

public sealed record UsersResponse(IReadOnlyList<UserDto> Users, int Total);

public sealed record AdminUserResponse(UserDto User, int ActiveSessions);

public sealed record UserChangeResponse(UserDto User, int RevokedSessions);

public sealed record RevokedSessionsResponse(int RevokedSessions);

public sealed record BulkResultDto(string UserId, bool Ok, int RevokedSessions, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Code);

public sealed record BulkResponse(IReadOnlyList<BulkResultDto> Results);

public sealed record AuditResponse(IReadOnlyList<AuditEventDto> Events);

// Service clients.

public sealed record ClientDto(
    string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, string CreatedBy, bool Disabled, DateTimeOffset? DisabledAt,
    DateTimeOffset? RotatedAt, DateTimeOffset? PreviousSecretExpiresAt)
{
    public static ClientDto From(Tessera.Core.Clients.ServiceClient client) => new(
        client.Id, client.Name, client.Scopes, client.CreatedAt, client.CreatedBy, client.Disabled, client.DisabledAt, client.RotatedAt,
        client.PreviousSecretHash is null ? null : client.PreviousSecretExpiresAt);
}

public sealed record CreateClientRequest(string? Name, IReadOnlyList<string?>? Scopes);

public sealed record ClientResponse(ClientDto Client);

public sealed record ClientsResponse(IReadOnlyList<ClientDto> Clients);

public sealed record IssuedClientResponse(ClientDto Client, string Secret);

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tessera.Client;

// The API's shapes on the wire (docs/api.md, Objects), read with a source-generated context: no reflection, so an app
// may trim or compile ahead of time.

internal sealed record DeviceDto(string? Name, string? Platform, string? Os, string? Browser);

internal sealed record SessionDto(
    string Id,
    DeviceDto? Device,
    string? IpAddress,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActiveAt,
    DateTimeOffset ExpiresAt,
    bool Current,
    string? Client)
{
    public SessionInfo ToInfo() => new(
        Id, Device?.Name, Device?.Platform ?? "api", Device?.Os, Device?.Browser, IpAddress, CreatedAt, LastActiveAt, ExpiresAt, Current, Client);
}

internal sealed record UserDto(string Id, string Email, string DisplayName, string Role, string Status, DateTimeOffset? BannedUntil, bool Banned, DateTimeOffset CreatedAt)
{
    public UserInfo ToInfo() => new(Id, Email, DisplayName, Role, Status, BannedUntil, Banned, CreatedAt);
}

internal sealed record LoginDevice(string? Name, string Platform, string? Os);

internal sealed record LoginRequest(string Email, string Password, LoginDevice Device);

internal sealed record LoginResponse(string? Token, SessionDto Session, UserDto User);

internal sealed record ExchangeRequest(string Code, string CodeVerifier, LoginDevice Device);

internal sealed record ExternalProviderDto(string Name, string DisplayName);

internal sealed record ExternalProvidersResponse(List<ExternalProviderDto> Providers);

internal sealed record SessionResponse(SessionDto Session, UserDto User);

internal sealed record SessionsResponse(List<SessionDto> Sessions);

internal sealed record RevokedResponse(int Revoked);

internal sealed record PasswordChangeRequest(string CurrentPassword, string NewPassword);

internal sealed record ResetRequest(string Email);

/// <summary>The data of the event stream's <c>session.revoked</c>.</summary>
internal sealed record RevokedEvent(string? SessionId, string? Reason, string? Message);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(LoginResponse))]
[JsonSerializable(typeof(ExchangeRequest))]
[JsonSerializable(typeof(ExternalProvidersResponse))]
[JsonSerializable(typeof(SessionResponse))]
[JsonSerializable(typeof(SessionsResponse))]
[JsonSerializable(typeof(RevokedResponse))]
[JsonSerializable(typeof(PasswordChangeRequest))]
[JsonSerializable(typeof(ResetRequest))]
[JsonSerializable(typeof(RevokedEvent))]
internal sealed partial class ClientJson : JsonSerializerContext;

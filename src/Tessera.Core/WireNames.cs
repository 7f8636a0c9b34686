using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Core;

/// <summary>
/// The lower-case names of Tessera's enums, as the HTTP contract shows them and every store keeps them (their CHECK
/// constraints list the same), and back. Revocation reasons have theirs in <see cref="Sessions.RevocationReasons"/>.
/// </summary>
public static class WireNames
{
    public static string RoleName(UserRole role) => role switch
    {
        UserRole.User => "user",
        UserRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static UserRole ParseRole(string role) => role switch
    {
        "user" => UserRole.User,
        "admin" => UserRole.Admin,
        _ => throw new InvalidDataException($"Unknown user role '{role}' is stored."),
    };

    public static string StatusName(UserStatus status) => status switch
    {
        UserStatus.Active => "active",
        UserStatus.Deactivated => "deactivated",
        UserStatus.Deleted => "deleted",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static UserStatus ParseStatus(string status) => status switch
    {
        "active" => UserStatus.Active,
        "deactivated" => UserStatus.Deactivated,
        "deleted" => UserStatus.Deleted,
        _ => throw new InvalidDataException($"Unknown user status '{status}' is stored."),
    };

    public static string PlatformName(DevicePlatform platform) => platform switch
    {
        DevicePlatform.Web => "web",
        DevicePlatform.Desktop => "desktop",
        DevicePlatform.Mobile => "mobile",
        DevicePlatform.Cli => "cli",
        DevicePlatform.Api => "api",
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, null),
    };

    public static DevicePlatform ParsePlatform(string platform) => platform switch
    {
        "web" => DevicePlatform.Web,
        "desktop" => DevicePlatform.Desktop,
        "mobile" => DevicePlatform.Mobile,
        "cli" => DevicePlatform.Cli,
        "api" => DevicePlatform.Api,
        _ => throw new InvalidDataException($"Unknown device platform '{platform}' is stored."),
    };

    public static string ActorKindName(ActorKind kind) => kind switch
    {
        ActorKind.User => "user",
        ActorKind.Admin => "admin",
        ActorKind.System => "system",
        ActorKind.Cli => "cli",
        ActorKind.Client => "client",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static ActorKind ParseActorKind(string kind) => kind switch
    {
        "user" => ActorKind.User,
        "admin" => ActorKind.Admin,
        "system" => ActorKind.System,
        "cli" => ActorKind.Cli,
        "client" => ActorKind.Client,
        _ => throw new InvalidDataException($"Unknown actor kind '{kind}' is stored."),
    };
}

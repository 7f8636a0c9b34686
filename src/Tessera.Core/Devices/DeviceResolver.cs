using Tessera.Core.Sessions;

namespace Tessera.Core.Devices;

/// <summary>What a client says about its device at login; every part optional.</summary>
public sealed record DeviceDescription(string? Name, string? Platform, string? Os);

/// <summary>
/// Works out a session's device: the client's own description first, the User-Agent for the rest. Parts that
/// neither tells stay null rather than guessed.
/// </summary>
public sealed class DeviceResolver(IUserAgentParser parser)
{
    public const int MaxNameLength = 100;
    private const int MaxUserAgentLength = 512;

    private static readonly HashSet<string> MobileOperatingSystems = new(StringComparer.OrdinalIgnoreCase)
    {
        "iOS", "Android", "iPadOS", "Windows Phone", "BlackBerry OS", "KaiOS", "HarmonyOS",
    };

    public DeviceInfo Resolve(DeviceDescription? description, string? userAgent)
    {
        var platform = ParsePlatform(description?.Platform);
        var name = Clean(description?.Name, "device.name");
        var os = Clean(description?.Os, "device.os");
        if (userAgent is { Length: > MaxUserAgentLength })
        {
            userAgent = userAgent[..MaxUserAgentLength];
        }

        var parsed = parser.Parse(userAgent);
        os ??= parsed.Os?.ToString();
        // Browsers by family and major version ("Chrome 120"): minor versions change weekly and say nothing to a person.
        var browser = parsed.Browser is { } b ? (b.Major is null ? b.Family : $"{b.Family} {b.Major}") : null;
        platform ??= InferPlatform(parsed);
        name ??= (parsed.Browser?.Family, parsed.Os?.Family) switch
        {
            ({ } browserFamily, { } osFamily) => $"{browserFamily} on {osFamily}",
            ({ } browserFamily, null) => browserFamily,
            (null, { } osFamily) => osFamily,
            _ => null,
        };

        return new DeviceInfo(name, platform.Value, os, browser, string.IsNullOrEmpty(userAgent) ? null : userAgent);
    }

    public static bool TryParsePlatform(string? value, out DevicePlatform platform)
    {
        platform = default;
        return value is not null
            && value.All(char.IsAsciiLetterLower)
            && Enum.TryParse(value, ignoreCase: true, out platform)
            && Enum.IsDefined(platform);
    }

    private static DevicePlatform? ParsePlatform(string? value)
    {
        if (value is null)
        {
            return null;
        }

        return TryParsePlatform(value, out var platform)
            ? platform
            : throw TesseraException.Validation("device.platform", "device.platform must be one of web, desktop, mobile, cli, api.");
    }

    private static DevicePlatform InferPlatform(UserAgentInfo parsed)
    {
        if (parsed.Browser is null)
        {
            return DevicePlatform.Api;
        }

        return parsed.Os is { } os && MobileOperatingSystems.Contains(os.Family) ? DevicePlatform.Mobile : DevicePlatform.Web;
    }

    private static string? Clean(string? value, string field) => ShownText.Check(value, field, field, MaxNameLength);
}

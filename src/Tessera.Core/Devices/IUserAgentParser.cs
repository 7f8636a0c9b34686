namespace Tessera.Core.Devices;

/// <summary>Turns a raw User-Agent header into the browser, OS and device it names.</summary>
public interface IUserAgentParser
{
    /// <summary>Parses <paramref name="userAgent"/>; parts the parser cannot tell are <c>null</c>, never guessed.</summary>
    UserAgentInfo Parse(string? userAgent);
}

/// <summary>What a User-Agent string says. Families the parser reports as "Other" are <c>null</c>.</summary>
/// <param name="Browser">The browser or client, e.g. family "Chrome", major "120".</param>
/// <param name="Os">The operating system, e.g. family "Windows", major "10".</param>
/// <param name="Device">The device family, e.g. "iPhone", "Samsung SM-G991B"; <c>null</c> for "Other".</param>
public sealed record UserAgentInfo(UserAgentPart? Browser, UserAgentPart? Os, string? Device)
{
    public static readonly UserAgentInfo Unknown = new(null, null, null);
}

/// <summary>A family with its version numbers as the parser found them.</summary>
public sealed record UserAgentPart(string Family, string? Major = null, string? Minor = null, string? Patch = null)
{
    /// <summary>"Chrome 120", "Windows 10", "Mac OS X 10.15": the family and as much of the version as is known (major and minor).</summary>
    public override string ToString() =>
        Major is null ? Family : Minor is null ? $"{Family} {Major}" : $"{Family} {Major}.{Minor}";
}

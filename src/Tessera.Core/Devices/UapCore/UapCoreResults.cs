namespace Tessera.Core.Devices.UapCore;

/// <summary>
/// The three answers of uap-core for one User-Agent, as the ua-parser specification defines them:
/// unmatched families are the literal "Other" and every version part is kept, so the engine can be checked
/// against uap-core's own fixtures. <see cref="UapCoreUserAgentParser.Parse"/> narrows this to <see cref="UserAgentInfo"/>.
/// </summary>
internal sealed record UapCoreResult(UapUserAgent UserAgent, UapOs Os, UapDevice Device);

/// <summary>The <c>user_agent_parsers</c> answer.</summary>
internal sealed record UapUserAgent(string Family, string? Major, string? Minor, string? Patch)
{
    public static readonly UapUserAgent Other = new(UapCoreUserAgentParser.OtherFamily, null, null, null);
}

/// <summary>The <c>os_parsers</c> answer.</summary>
internal sealed record UapOs(string Family, string? Major, string? Minor, string? Patch, string? PatchMinor)
{
    public static readonly UapOs Other = new(UapCoreUserAgentParser.OtherFamily, null, null, null, null);
}

/// <summary>The <c>device_parsers</c> answer.</summary>
internal sealed record UapDevice(string Family, string? Brand, string? Model)
{
    public static readonly UapDevice Other = new(UapCoreUserAgentParser.OtherFamily, null, null);
}

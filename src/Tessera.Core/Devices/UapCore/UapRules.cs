using System.Text.RegularExpressions;

namespace Tessera.Core.Devices.UapCore;

/// <summary>One entry of a uap-core parser list: its compiled regex and what a match of it means.</summary>
internal interface IUapRule<out TResult>
{
    Regex Regex { get; }

    TResult Apply(Match match);
}

/// <summary>An entry of <c>user_agent_parsers</c>.</summary>
internal sealed class UserAgentRule(
    Regex regex, string? familyReplacement, string? v1Replacement, string? v2Replacement, string? v3Replacement)
    : IUapRule<UapUserAgent>
{
    public Regex Regex { get; } = regex;

    public UapUserAgent Apply(Match match)
    {
        // An empty replacement counts as none, as in the reference implementation, where '' is falsy.
        var family = string.IsNullOrEmpty(familyReplacement)
            ? UapTemplate.Group(match, 1)
            : UapTemplate.ExpandFirstGroupOnce(familyReplacement, match);
        return new UapUserAgent(
            UapTemplate.NullIfEmpty(family) ?? UapCoreUserAgentParser.OtherFamily,
            Version(v1Replacement, match, 2),
            Version(v2Replacement, match, 3),
            Version(v3Replacement, match, 4));
    }

    private static string? Version(string? replacement, Match match, int group) =>
        string.IsNullOrEmpty(replacement) ? UapTemplate.Group(match, group) : UapTemplate.Expand(replacement, match);
}

/// <summary>An entry of <c>os_parsers</c>.</summary>
internal sealed class OsRule(
    Regex regex,
    string? osReplacement,
    string? v1Replacement,
    string? v2Replacement,
    string? v3Replacement,
    string? v4Replacement)
    : IUapRule<UapOs>
{
    public Regex Regex { get; } = regex;

    public UapOs Apply(Match match) => new(
        Part(osReplacement, match, 1) ?? UapCoreUserAgentParser.OtherFamily,
        Part(v1Replacement, match, 2),
        Part(v2Replacement, match, 3),
        Part(v3Replacement, match, 4),
        Part(v4Replacement, match, 5));

    private static string? Part(string? replacement, Match match, int group) =>
        string.IsNullOrEmpty(replacement) ? UapTemplate.Group(match, group) : UapTemplate.Expand(replacement, match);
}

/// <summary>An entry of <c>device_parsers</c>.</summary>
internal sealed class DeviceRule(Regex regex, string? deviceReplacement, string? brandReplacement, string? modelReplacement)
    : IUapRule<UapDevice>
{
    public Regex Regex { get; } = regex;

    public UapDevice Apply(Match match) => new(
        Part(deviceReplacement, match) ?? UapCoreUserAgentParser.OtherFamily,
        string.IsNullOrEmpty(brandReplacement) ? null : UapTemplate.Expand(brandReplacement, match),
        Part(modelReplacement, match));

    // Family and model both fall back to the first group; the brand has no such fallback.
    private static string? Part(string? replacement, Match match) =>
        string.IsNullOrEmpty(replacement) ? UapTemplate.Group(match, 1) : UapTemplate.Expand(replacement, match);
}

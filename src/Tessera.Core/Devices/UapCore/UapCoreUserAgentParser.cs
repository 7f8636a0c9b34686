using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace Tessera.Core.Devices.UapCore;

/// <summary>
/// A <see cref="IUserAgentParser"/> driven by the uap-core regex database (<c>regexes.yaml</c>, embedded in this
/// assembly), following the ua-parser specification and its reference implementation.
/// </summary>
/// <remarks>
/// Building one compiles about 1,200 regexes, so share <see cref="Default"/> rather than creating parsers.
/// Instances are immutable and safe to use from many threads.
/// </remarks>
public sealed class UapCoreUserAgentParser : IUserAgentParser
{
    /// <summary>The family uap-core reports when no rule matched.</summary>
    internal const string OtherFamily = "Other";

    /// <summary>Longer User-Agent headers are cut to this many characters before parsing.</summary>
    /// <remarks>Real User-Agents are far shorter; the cap bounds the work a hostile header can ask of the regexes.</remarks>
    internal const int MaxInputLength = 512;

    /// <summary>How long one regex may run against one input before it is treated as not matching.</summary>
    internal static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    internal const string EmbeddedResourceName = "Tessera.Core.Devices.UapCore.regexes.yaml";

    private static readonly Lazy<UapCoreUserAgentParser> s_default = new(LoadEmbedded, LazyThreadSafetyMode.ExecutionAndPublication);

    private const int RecentCapacity = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UserAgentInfo> _recent = new(StringComparer.Ordinal);
    private readonly UserAgentRule[] _userAgentRules;
    private readonly OsRule[] _osRules;
    private readonly DeviceRule[] _deviceRules;

    /// <summary>Builds a parser from a uap-core <c>regexes.yaml</c> document.</summary>
    /// <exception cref="InvalidDataException">The document is not a uap-core regex database this parser understands.</exception>
    public UapCoreUserAgentParser(TextReader regexesYaml)
    {
        ArgumentNullException.ThrowIfNull(regexesYaml);

        Dictionary<string, List<Dictionary<string, string?>>>? document;
        try
        {
            document = new DeserializerBuilder().Build()
                .Deserialize<Dictionary<string, List<Dictionary<string, string?>>>?>(regexesYaml);
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new InvalidDataException("The uap-core regexes document is not valid YAML of the expected shape.", ex);
        }

        if (document is null)
        {
            throw new InvalidDataException("The uap-core regexes document is empty.");
        }

        _userAgentRules = Rules(document, "user_agent_parsers", UserAgentKeys, e => new UserAgentRule(
            Compile(e), e.GetValueOrDefault("family_replacement"), e.GetValueOrDefault("v1_replacement"),
            e.GetValueOrDefault("v2_replacement"), e.GetValueOrDefault("v3_replacement")));
        _osRules = Rules(document, "os_parsers", OsKeys, e => new OsRule(
            Compile(e), e.GetValueOrDefault("os_replacement"), e.GetValueOrDefault("os_v1_replacement"),
            e.GetValueOrDefault("os_v2_replacement"), e.GetValueOrDefault("os_v3_replacement"),
            e.GetValueOrDefault("os_v4_replacement")));
        _deviceRules = Rules(document, "device_parsers", DeviceKeys, e => new DeviceRule(
            Compile(e), e.GetValueOrDefault("device_replacement"), e.GetValueOrDefault("brand_replacement"),
            e.GetValueOrDefault("model_replacement")));
    }

    /// <summary>The parser over the embedded uap-core database, built on first use and shared.</summary>
    public static UapCoreUserAgentParser Default => s_default.Value;

    /// <inheritdoc />
    public UserAgentInfo Parse(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return UserAgentInfo.Unknown;
        }

        if (_recent.TryGetValue(userAgent, out var known))
        {
            return known;
        }

        var info = Interpret(ParseRaw(userAgent));

        // The same few User-Agent strings come back again and again; keep a bounded number of answers.
        if (_recent.Count < RecentCapacity)
        {
            _recent.TryAdd(userAgent, info);
        }

        return info;
    }

    private static UserAgentInfo Interpret(UapCoreResult raw)
    {
        var browser = raw.UserAgent.Family == OtherFamily
            ? null
            : new UserAgentPart(raw.UserAgent.Family, raw.UserAgent.Major, raw.UserAgent.Minor, raw.UserAgent.Patch);
        var os = raw.Os.Family == OtherFamily
            ? null
            : new UserAgentPart(raw.Os.Family, raw.Os.Major, raw.Os.Minor, raw.Os.Patch);
        var device = raw.Device.Family == OtherFamily ? null : raw.Device.Family;
        return browser is null && os is null && device is null ? UserAgentInfo.Unknown : new UserAgentInfo(browser, os, device);
    }

    /// <summary>
    /// What uap-core itself answers for <paramref name="userAgent"/>: "Other" families and every version part included,
    /// after the same length cap as <see cref="Parse"/>.
    /// </summary>
    internal UapCoreResult ParseRaw(string userAgent)
    {
        var input = Truncate(userAgent);
        return new UapCoreResult(
            FirstMatch(_userAgentRules, input) ?? UapUserAgent.Other,
            FirstMatch(_osRules, input) ?? UapOs.Other,
            FirstMatch(_deviceRules, input) ?? UapDevice.Other);
    }

    private static string Truncate(string userAgent)
    {
        if (userAgent.Length <= MaxInputLength)
        {
            return userAgent;
        }

        // Never keep half of a surrogate pair: the regexes would see a lone surrogate that was not in the header.
        var length = char.IsHighSurrogate(userAgent[MaxInputLength - 1]) ? MaxInputLength - 1 : MaxInputLength;
        return userAgent[..length];
    }

    private static TResult? FirstMatch<TResult>(IUapRule<TResult>[] rules, string input)
        where TResult : class
    {
        foreach (var rule in rules)
        {
            // A rule that runs away on this input says nothing about it; the later, usually more generic, rules still may.
            var match = MatchWithinTimeout(rule.Regex, input);
            if (match is { Success: true })
            {
                return rule.Apply(match);
            }
        }

        return null;
    }

    /// <summary>The match of <paramref name="regex"/> on <paramref name="input"/>, or <c>null</c> if it kept timing out.</summary>
    private static Match? MatchWithinTimeout(Regex regex, string input)
    {
        // The timeout is wall-clock: a GC pause or a busy machine can push an ordinary match past it. A second
        // attempt means only a pattern that is really slow on this input is given up on, after at most twice the timeout.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                return regex.Match(input);
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }

        return null;
    }

    private static readonly string[] UserAgentKeys =
        ["regex", "regex_flag", "family_replacement", "v1_replacement", "v2_replacement", "v3_replacement"];

    private static readonly string[] OsKeys =
        ["regex", "regex_flag", "os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement", "os_v4_replacement"];

    private static readonly string[] DeviceKeys =
        ["regex", "regex_flag", "device_replacement", "brand_replacement", "model_replacement"];

    private static TRule[] Rules<TRule>(
        Dictionary<string, List<Dictionary<string, string?>>> document,
        string section,
        string[] knownKeys,
        Func<Dictionary<string, string?>, TRule> build)
    {
        if (!document.TryGetValue(section, out var entries) || entries is null)
        {
            throw new InvalidDataException($"The uap-core regexes document has no '{section}' list.");
        }

        var rules = new TRule[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i] ?? throw new InvalidDataException($"Entry {i} of '{section}' is empty.");
            // A key this parser does not know would be silently ignored and its meaning lost, so a database from a
            // newer uap-core that adds one must fail loudly here rather than parse some User-Agents wrongly.
            foreach (var key in entry.Keys)
            {
                if (Array.IndexOf(knownKeys, key) < 0)
                {
                    throw new InvalidDataException($"Entry {i} of '{section}' has the unknown key '{key}'.");
                }
            }

            rules[i] = build(entry);
        }

        return rules;
    }

    private static Regex Compile(Dictionary<string, string?> entry)
    {
        var pattern = entry.GetValueOrDefault("regex");
        if (string.IsNullOrEmpty(pattern))
        {
            throw new InvalidDataException("A uap-core entry has no regex.");
        }

        // Interpreted, not Compiled: parsing happens once per login, and compiling ~1,000 patterns costs seconds of
        // start-up and JIT work for a saving of a fraction of a millisecond per parse.
        var options = RegexOptions.CultureInvariant;
        switch (entry.GetValueOrDefault("regex_flag"))
        {
            case null or "":
                break;
            case "i":
                options |= RegexOptions.IgnoreCase;
                break;
            case var flag:
                throw new InvalidDataException($"The uap-core regex '{pattern}' has the unknown regex_flag '{flag}'.");
        }

        try
        {
            return new Regex(pattern, options, MatchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The uap-core regex '{pattern}' does not compile on .NET: {ex.Message}", ex);
        }
    }

    private static UapCoreUserAgentParser LoadEmbedded()
    {
        using var stream = typeof(UapCoreUserAgentParser).Assembly.GetManifestResourceStream(EmbeddedResourceName)
            ?? throw new InvalidOperationException($"The embedded resource '{EmbeddedResourceName}' is missing from {typeof(UapCoreUserAgentParser).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return new UapCoreUserAgentParser(reader);
    }
}

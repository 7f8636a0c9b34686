using System.Text;
using Tessera.Core.Devices;
using Tessera.Core.Devices.UapCore;
using Xunit;
using YamlDotNet.Serialization;

namespace Tessera.Core.Tests.Devices;

public sealed class UserAgentParserTests
{
    private const string ChromeOnWindows =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    private const string SafariOnIPhone =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

    private static readonly UapCoreUserAgentParser Parser = UapCoreUserAgentParser.Default;

    [Fact]
    public void Chrome_on_Windows_is_recognised()
    {
        var info = Parser.Parse(ChromeOnWindows);

        Assert.Equal(new UserAgentPart("Chrome", "120", "0", "0"), info.Browser);
        Assert.Equal(new UserAgentPart("Windows", "10"), info.Os);
        // uap-core names no device for a desktop Windows header: "Other", which the public shape reports as null.
        Assert.Null(info.Device);
    }

    [Fact]
    public void Safari_on_an_iPhone_is_recognised()
    {
        var info = Parser.Parse(SafariOnIPhone);

        Assert.Equal("Mobile Safari", info.Browser?.Family);
        Assert.Equal(new UserAgentPart("iOS", "17", "1"), info.Os);
        Assert.Equal("iPhone", info.Device);
    }

    [Fact]
    public void Chrome_on_an_Android_phone_names_the_phone()
    {
        var info = Parser.Parse(
            "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36");

        Assert.Equal("Chrome Mobile", info.Browser?.Family);
        Assert.Equal(new UserAgentPart("Android", "13"), info.Os);
        Assert.Equal("Samsung SM-G991B", info.Device);
    }

    [Fact]
    public void Curl_is_a_client_with_no_operating_system_or_device()
    {
        var info = Parser.Parse("curl/8.5.0");

        Assert.Equal(new UserAgentPart("curl", "8", "5", "0"), info.Browser);
        Assert.Null(info.Os);
        Assert.Null(info.Device);
    }

    [Fact]
    public void Googlebot_is_a_spider()
    {
        var info = Parser.Parse("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");

        Assert.Equal(new UserAgentPart("Googlebot", "2", "1"), info.Browser);
        Assert.Null(info.Os);
        Assert.Equal("Spider", info.Device);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void A_missing_or_blank_header_is_unknown(string? userAgent) =>
        Assert.Same(UserAgentInfo.Unknown, Parser.Parse(userAgent));

    [Fact]
    public void A_header_no_rule_recognises_is_unknown_rather_than_Other()
    {
        var info = Parser.Parse("SomethingWeNeverKnewExisted");

        Assert.Equal(UserAgentInfo.Unknown, info);
        Assert.Equal("Other", Parser.ParseRaw("SomethingWeNeverKnewExisted").UserAgent.Family);
    }

    [Fact]
    public void Headers_longer_than_512_characters_are_parsed_by_their_first_512()
    {
        // Past the cap sits an Edge token, which uap-core checks before Chrome: only a parser that reads beyond
        // 512 characters would see it.
        var padded = ChromeOnWindows + new string(' ', 512) + " Edg/120.0.2210.91";
        Assert.True(padded.IndexOf("Edg/", StringComparison.Ordinal) >= 512);

        var info = Parser.Parse(padded);

        Assert.Equal("Chrome", info.Browser?.Family);
        Assert.Equal("Edge", Parser.Parse(ChromeOnWindows + " Edg/120.0.2210.91").Browser?.Family);
    }

    [Fact]
    public void A_long_hostile_header_is_parsed_quickly()
    {
        var hostile = string.Concat(Enumerable.Repeat("Android 4.4; (Build/", 5_000));
        Parser.Parse(hostile); // the first parse of a header shape compiles regex code; time the second one

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Parser.Parse(hostile);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"parsing took {clock.Elapsed}");
    }

    [Fact]
    public void Parsing_from_many_threads_gives_the_same_answers()
    {
        string[] headers = [ChromeOnWindows, SafariOnIPhone, "curl/8.5.0", "SomethingWeNeverKnewExisted"];
        var expected = headers.Select(Parser.Parse).ToArray();

        var results = new UserAgentInfo[400];
        Parallel.For(0, results.Length, i => results[i] = Parser.Parse(headers[i % headers.Length]));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(expected[i % headers.Length], results[i]);
        }
    }

    [Fact]
    public void Replacements_substitute_groups_trim_and_honour_the_case_insensitive_flag()
    {
        const string database = """
            user_agent_parsers:
              - regex: '(Foo)Browser/(\d+)'
                family_replacement: '$1 Browser'
            os_parsers:
              - regex: '(FooOS) (\d+)\.(\d+)'
                os_replacement: 'Foo OS'
                os_v2_replacement: '$3-beta'
            device_parsers:
              - regex: 'device:(\w+)-(\w+)'
                regex_flag: 'i'
                device_replacement: ' $1 $2 '
                brand_replacement: '$1'
                model_replacement: '$2$9'
              - regex: 'Gadget'
                device_replacement: 'Gadget'
                brand_replacement: '$5'
            """;
        var parser = new UapCoreUserAgentParser(new StringReader(database));

        var raw = parser.ParseRaw("FooBrowser/7 FooOS 3.4 DEVICE:Acme-Rocket");

        Assert.Equal(new UapUserAgent("Foo Browser", "7", null, null), raw.UserAgent);
        // A replacement overrides its own part only; the other parts still come from their groups.
        Assert.Equal(new UapOs("Foo OS", "3", "4-beta", null, null), raw.Os);
        // "$9" names a group the regex does not have, so it adds nothing; the family is trimmed.
        Assert.Equal(new UapDevice("Acme Rocket", "Acme", "Rocket"), raw.Device);
        // A replacement that comes out empty is no value at all.
        Assert.Equal(new UapDevice("Gadget", null, null), parser.ParseRaw("Gadget").Device);
        Assert.Equal(UapDevice.Other, parser.ParseRaw("device-without-colon").Device);
    }

    [Fact]
    public void A_database_with_a_key_the_parser_does_not_know_is_rejected()
    {
        const string database = """
            user_agent_parsers:
              - regex: '(Foo)'
                v4_replacement: '1'
            os_parsers: []
            device_parsers: []
            """;

        var error = Assert.Throws<InvalidDataException>(() => new UapCoreUserAgentParser(new StringReader(database)));
        Assert.Contains("v4_replacement", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_user_agent_rules_agree_with_uap_cores_own_fixtures() =>
        AssertFixtures("test_ua.yaml", ["family", "major", "minor", "patch"], raw =>
            [raw.UserAgent.Family, raw.UserAgent.Major, raw.UserAgent.Minor, raw.UserAgent.Patch]);

    [Fact]
    public void The_operating_system_rules_agree_with_uap_cores_own_fixtures() =>
        AssertFixtures("test_os.yaml", ["family", "major", "minor", "patch", "patch_minor"], raw =>
            [raw.Os.Family, raw.Os.Major, raw.Os.Minor, raw.Os.Patch, raw.Os.PatchMinor]);

    [Fact]
    public void The_device_rules_agree_with_uap_cores_own_fixtures() =>
        AssertFixtures("test_device.yaml", ["family", "brand", "model"], raw =>
            [raw.Device.Family, raw.Device.Brand, raw.Device.Model]);

    /// <summary>
    /// Parses every case of a uap-core fixture file and fails once, listing the first mismatches, so a regression
    /// shows its whole extent instead of stopping at the first case.
    /// </summary>
    private static void AssertFixtures(string fileName, string[] fields, Func<UapCoreResult, string?[]> actualOf)
    {
        var cases = LoadFixture(fileName);
        // The files hold a few hundred cases each; a much smaller count means the file was cut or misread.
        Assert.True(cases.Count >= 300, $"{fileName} has only {cases.Count} cases");

        var mismatches = new List<string>();
        foreach (var testCase in cases)
        {
            var userAgent = testCase["user_agent_string"] ?? throw new InvalidDataException($"{fileName}: a case has no user_agent_string");
            var expected = fields.Select(field => NullIfEmpty(testCase.GetValueOrDefault(field))).ToArray();
            var actual = actualOf(Parser.ParseRaw(userAgent));
            if (!expected.SequenceEqual(actual))
            {
                mismatches.Add($"{userAgent}\n    expected {Show(fields, expected)}\n    actual   {Show(fields, actual)}");
            }
        }

        if (mismatches.Count > 0)
        {
            var message = new StringBuilder()
                .Append(mismatches.Count).Append(" of ").Append(cases.Count).Append(" cases in ").Append(fileName)
                .AppendLine(" disagree; the first ones:");
            foreach (var mismatch in mismatches.Take(20))
            {
                message.AppendLine(mismatch);
            }

            Assert.Fail(message.ToString());
        }
    }

    private static List<Dictionary<string, string?>> LoadFixture(string fileName)
    {
        var path = Path.Combine(RepositoryRoot(), "tests", "Tessera.Core.Tests", "Devices", "Fixtures", fileName);
        using var reader = new StreamReader(path);
        var document = new DeserializerBuilder().Build()
            .Deserialize<Dictionary<string, List<Dictionary<string, string?>>>>(reader);
        return document["test_cases"];
    }

    // The fixtures stay in the source tree rather than the test output, so find the tree from wherever the tests run.
    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No directory above {AppContext.BaseDirectory} holds Tessera.slnx.");
    }

    // uap-core's fixtures write a missing part as an empty value, which YAML reads as null or "".
    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Show(string[] fields, string?[] values) =>
        string.Join(", ", fields.Zip(values, (field, value) => $"{field}={value ?? "null"}"));
}

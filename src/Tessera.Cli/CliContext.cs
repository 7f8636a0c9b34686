using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Tessera.Cli.Api;
using Tessera.Cli.Config;

namespace Tessera.Cli;

/// <summary>The options every command has, and what one run of a command needs: the profile, the API, the output.</summary>
internal sealed class CliContext
{
    public static readonly Option<string?> ProfileOption = new("--profile")
    {
        Description = "The profile to use (default: $TESSERA_PROFILE, else \"default\").",
        Recursive = true,
    };

    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Write JSON to standard output instead of text, for scripts.",
        Recursive = true,
    };

    public CliContext(ParseResult parseResult)
    {
        ParseResult = parseResult;
        Json = parseResult.GetValue(JsonOption);
        ProfileName = parseResult.GetValue(ProfileOption) is { Length: > 0 } named
            ? named
            : Environment.GetEnvironmentVariable("TESSERA_PROFILE") is { Length: > 0 } fromEnvironment ? fromEnvironment : ProfileStore.DefaultProfile;
        Profiles = new ProfileStore();
        Out = AnsiConsole.Console;
        Error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    }

    public ParseResult ParseResult { get; }

    public bool Json { get; }

    public string ProfileName { get; }

    public ProfileStore Profiles { get; }

    /// <summary>Standard output: tables, progress (on a terminal only) and results.</summary>
    public IAnsiConsole Out { get; }

    /// <summary>Standard error: warnings and failures, so they never mix with what a script reads.</summary>
    public IAnsiConsole Error { get; }

    /// <summary>Standard input and output are both a terminal: prompts and progress bars make sense.</summary>
    public static bool Interactive => !Console.IsInputRedirected && !Console.IsOutputRedirected;

    /// <summary>$TESSERA_URL overrides the profile's address (a profile per environment, or none at all in CI).</summary>
    public static string? UrlFromEnvironment => Environment.GetEnvironmentVariable("TESSERA_URL") is { Length: > 0 } url ? url : null;

    /// <summary>The API, signed in as the profile's session; a clear "log in" when there is none.</summary>
    public TesseraApi SignedIn()
    {
        var profile = Profiles.Find(ProfileName);
        if (profile?.Token is null)
        {
            throw new CliException(
                $"Not signed in (profile '{ProfileName}'). Sign in first: tessera login --url <address>{ProfileHint}.", ExitCodes.NotAuthorised, "not_signed_in");
        }

        return new TesseraApi(UrlFromEnvironment ?? profile.Url, profile.Token);
    }

    public string ProfileHint => ProfileName == ProfileStore.DefaultProfile ? string.Empty : $" --profile {ProfileName}";

    /// <summary>Writes a JSON value to standard output, indented, on its own.</summary>
    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, CliJson.Indented));

    /// <summary>Asks "…? [y/N]" on a terminal; refuses (exit 2) where nobody can answer, telling to pass --yes.</summary>
    public bool Confirm(string question, bool yes)
    {
        if (yes)
        {
            return true;
        }

        if (Json || !Interactive)
        {
            throw new CliException("This changes accounts and needs a confirmation; nobody can answer here: pass --yes.", ExitCodes.Usage, "confirmation_required");
        }

        return Out.Confirm(question, defaultValue: false);
    }
}

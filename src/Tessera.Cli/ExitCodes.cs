namespace Tessera.Cli;

/// <summary>
/// The documented exit codes: scripts branch on these, so they never change meaning.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Everything asked for was done (or was already so).</summary>
    public const int Done = 0;

    /// <summary>Nothing was done: the server refused, could not be reached, or the input was wrong.</summary>
    public const int Failed = 1;

    /// <summary>The command line itself was wrong (unknown option, missing argument, a confirmation that could not be asked).</summary>
    public const int Usage = 2;

    /// <summary>Part was done: a bulk with refused, unknown or garbage entries, or one stopped by Ctrl+C.</summary>
    public const int PartlyDone = 3;

    /// <summary>Not signed in, the CLI session ended, or the account is not an admin.</summary>
    public const int NotAuthorised = 4;
}

/// <summary>A failure the CLI explains in a sentence and ends with, with its exit code.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failed, string code = "failed") : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>A stable, machine-readable name for --json output.</summary>
    public string Code { get; } = code;
}

using System.Diagnostics;

namespace Tessera.RevocationLatency;

/// <summary>
/// A change Tessera is not asked for: one separate sqlite3 or psql process per change, started, run and ended the way
/// an operator's one-line command is. Its commit happens somewhere between the start and the exit; both are timed.
/// </summary>
internal static class ExternalChange
{
    /// <summary>Deactivates the user; 204 when the process succeeded (the API's answer for a change made), else 500 + its exit code.</summary>
    public static async Task<int> DeactivateAsync(BenchOptions options, string userId, CancellationToken cancellationToken)
    {
        // Ids are Tessera's own ("usr_" and URL-safe characters): nothing to escape, but refuse anything else.
        if (!userId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new InvalidOperationException($"unexpected user id '{userId}'");
        }

        var sql = $"UPDATE users SET status = 'deactivated' WHERE id = '{userId}'";
        var start = options.Via == RevokePath.Sqlite3
            ? new ProcessStartInfo("sqlite3") { ArgumentList = { "-bail", "-cmd", ".timeout 5000", options.Database!, sql } }
            : new ProcessStartInfo("psql") { ArgumentList = { "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", options.Database!, "-c", sql } };
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            Log.Info($"{start.FileName} failed ({process.ExitCode}): {await error}");
            return 500 + process.ExitCode;
        }

        return 204;
    }
}

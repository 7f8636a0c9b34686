using System.Diagnostics;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// The sqlite3 shell (Debian package <c>sqlite3</c>; eng/debian-packages.sh sqlite3 sqlite3 installs it): writes to a database file from a
/// separate process, the way an operator's console or a script does, outside everything Tessera knows.
/// </summary>
public static class Sqlite3
{
    /// <summary>Runs <paramref name="sql"/> in one sqlite3 process against <paramref name="databasePath"/>; returns once that process has exited.</summary>
    public static async Task<string> ExecuteAsync(string databasePath, string sql)
    {
        var start = new ProcessStartInfo("sqlite3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // -bail stops at the first error; the timeout waits for Tessera's own writers instead of failing on SQLITE_BUSY.
        foreach (var argument in new[] { "-bail", "-cmd", ".timeout 5000", databasePath, sql })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("sqlite3 did not start; run eng/debian-packages.sh sqlite3 sqlite3.");
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, $"sqlite3 failed ({process.ExitCode}) on {sql}: {await error}");
        return (await output).Trim();
    }
}

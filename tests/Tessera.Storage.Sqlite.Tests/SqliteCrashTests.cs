using System.Diagnostics;
using System.Globalization;
using Xunit;
using static Tessera.Storage.Sqlite.Tests.TestDatabaseDirectory;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>What a writer that dies mid-flight leaves behind.</summary>
public sealed class SqliteCrashTests : IDisposable
{
    private readonly TestDatabaseDirectory _directory = new();

    [Fact]
    public async Task A_killed_writer_leaves_every_change_with_its_audit_event()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = _directory.NewConnectionString();
        using (var store = new SqliteTesseraStore(connectionString))
        {
            await store.MigrateAsync(ct);
        }

        var killAfter = Random.Shared.Next(200, 400);
        var reported = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        using (var writer = Process.Start(CrashWriterStartInfo(DatabasePath(connectionString)))!)
        {
            try
            {
                while (reported < killAfter)
                {
                    var line = await writer.StandardOutput.ReadLineAsync(timeout.Token);
                    if (line is null)
                    {
                        Assert.Fail($"The writer stopped by itself after {reported} commits: {await writer.StandardError.ReadToEndAsync(timeout.Token)}");
                    }

                    reported = int.Parse(line, CultureInfo.InvariantCulture);
                }

                // A random moment after a few hundred commits; the writer spends most of its time inside a transaction.
                await Task.Delay(Random.Shared.Next(0, 20), timeout.Token);
            }
            finally
            {
                writer.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no flush, no goodbye.
                await writer.WaitForExitAsync(CancellationToken.None);
            }
        }

        // Reopening recovers whatever the write-ahead log holds.
        using (var reopened = new SqliteTesseraStore(connectionString))
        {
            await reopened.MigrateAsync(ct);
            Assert.True(await reopened.IsReadyAsync(ct));
        }

        using var raw = OpenRaw(connectionString);
        Assert.Equal("ok", Scalar(raw, "PRAGMA integrity_check"));
        Assert.Equal(0L, Scalar(raw, "PRAGMA foreign_key_check") ?? 0L);
        Assert.Equal(0L, Scalar(raw, """
            SELECT count(*) FROM users u
            WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.target_user_id = u.id AND e.action = 'user.registered')
            """));
        Assert.Equal(0L, Scalar(raw, """
            SELECT count(*) FROM audit_events e
            WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.target_user_id)
            """));
        // Every commit the writer saw return is still there (it went on committing until the kill).
        var users = (long)Scalar(raw, "SELECT count(*) FROM users")!;
        Assert.True(users >= reported, $"{reported} commits returned but only {users} users are in the database.");
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>This test executable again, in its crash-writer mode (see <see cref="Program"/>).</summary>
    private static ProcessStartInfo CrashWriterStartInfo(string databasePath)
    {
        var assembly = typeof(CrashWriter).Assembly.Location;
        var appHost = Path.ChangeExtension(assembly, OperatingSystem.IsWindows() ? ".exe" : null);
        ProcessStartInfo info;
        if (File.Exists(appHost))
        {
            info = new ProcessStartInfo(appHost);
        }
        else
        {
            var processPath = Environment.ProcessPath;
            var dotnet = processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet" ? processPath : "dotnet";
            info = new ProcessStartInfo(dotnet) { ArgumentList = { "exec", assembly } };
        }

        info.ArgumentList.Add(CrashWriter.Mode);
        info.ArgumentList.Add(databasePath);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        return info;
    }
}

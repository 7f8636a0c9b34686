using System.Diagnostics;
using System.Globalization;

namespace Tessera.Cli.Tests;

/// <summary>
/// The tool on a real terminal (tmux): the progress bar of a bulk and its summary table render. The captures are saved
/// under the test output (captures/), for a look and for the README.
/// </summary>
public sealed class TerminalTests(CliServer tessera) : IClassFixture<CliServer>
{
    [Fact]
    public async Task A_bulk_on_a_terminal_shows_a_progress_bar_and_the_summary_table()
    {
        var tool = await tessera.SignedInToolAsync();
        var lines = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            lines.Add((await tessera.NewUserAsync(sessions: 1, prefix: "tty")).Email);
        }

        lines.Add("not-an-id");
        lines.Add("usr_unknown");
        var file = Path.Combine(tessera.Server.DataDirectory, "tty.txt");
        await File.WriteAllLinesAsync(file, lines, TestContext.Current.CancellationToken);
        var session = $"tessera-cli-{Guid.NewGuid():N}"[..24];
        var done = Path.Combine(tessera.Server.DataDirectory, "tty.exit");
        var command = string.Join(' ', new[] { CliProcess.DotnetHost(), CliProcess.Dll, "users", "deactivate", "--from-file", file, "--yes", "--batch-size", "2" }.Select(Quote));

        await Tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30",
            "-e", $"TESSERA_CONFIG={tool.ConfigPath}", "-e", "TERM=xterm-256color", "-e", "TESSERA_URL=", "-e", "TESSERA_PROFILE=",
            $"bash -c '{command}; echo $? > {Quote(done)}; sleep 600'");
        try
        {
            var progressSeen = false;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            string screen;
            while (true)
            {
                screen = await Tmux("capture-pane", "-p", "-t", session);
                if (screen.Contains('━') && (screen.Contains("Deactivating", StringComparison.Ordinal) || screen.Contains("Checking", StringComparison.Ordinal)))
                {
                    progressSeen = true;
                    await SaveAsync("bulk-progress.txt", screen);
                }

                if (File.Exists(done) && (await File.ReadAllTextAsync(done, TestContext.Current.CancellationToken)).Trim().Length > 0)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"The bulk did not end within 60 s:\n{screen}");
                await Task.Delay(25, TestContext.Current.CancellationToken);
            }

            screen = await Tmux("capture-pane", "-p", "-t", session);
            await SaveAsync("bulk-summary.txt", screen);
            Assert.Equal("3", (await File.ReadAllTextAsync(done, TestContext.Current.CancellationToken)).Trim());
            Assert.True(progressSeen || screen.Contains("Deactivating", StringComparison.Ordinal), $"No progress bar was seen:\n{screen}");
            Assert.Contains("Deactivating", screen, StringComparison.Ordinal);
            Assert.Contains("100%", screen, StringComparison.Ordinal);
            Assert.Contains("Lines not done", screen, StringComparison.Ordinal);
            Assert.Contains("not-an-id", screen, StringComparison.Ordinal);
            Assert.Matches(@"│ done\s+│\s+40 │", screen);
            Assert.Matches(@"│ garbage lines\s+│\s+1 │", screen);
            Assert.Matches(@"│ not found\s+│\s+1 │", screen);
            Assert.Contains("40 session(s) ended.", screen, StringComparison.Ordinal);
        }
        finally
        {
            await Tmux("kill-session", "-t", session);
        }
    }

    private static async Task SaveAsync(string name, string screen)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "captures");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, name), screen, TestContext.Current.CancellationToken);
    }

    private static string Quote(string text) => "\"" + text.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static async Task<string> Tmux(params string[] args)
    {
        var info = new ProcessStartInfo("tmux", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("tmux did not start.");
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        if (process.ExitCode != 0 && args[0] != "kill-session")
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)}: exit {process.ExitCode.ToString(CultureInfo.InvariantCulture)}: {error}");
        }

        return output;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;

namespace Tessera.Samples.Desktop.Tests;

/// <summary>
/// A real terminal: one tmux server on a socket of its own (a file in the temporary folder, so no one else's tmux is
/// touched), one 120x40 window that runs a command. Keys go in with <c>send-keys</c>, the screen comes out with
/// <c>capture-pane -p</c>. Disposing kills the command and the tmux server and removes the socket.
/// </summary>
internal sealed class TmuxTerminal : IAsyncDisposable
{
    public const int Columns = 120;
    public const int Rows = 40;

    // Short: a Unix socket's path has at most 107 bytes.
    private readonly string _socket = Path.Combine(Path.GetTempPath(), "tessera-tmux-" + Guid.NewGuid().ToString("N")[..12]);
    private int? _panePid;

    private TmuxTerminal()
    {
    }

    /// <summary>How many captures were taken and how long they took in all: the resolution of every wait.</summary>
    public int CaptureCount { get; private set; }

    public TimeSpan CaptureTime { get; private set; }

    /// <summary>Runs <paramref name="command"/> (a shell command line) in a new terminal with <paramref name="environment"/> added.</summary>
    public static async Task<TmuxTerminal> StartAsync(string command, IReadOnlyDictionary<string, string> environment)
    {
        var terminal = new TmuxTerminal();
        var arguments = new List<string> { "new-session", "-d", "-s", "main", "-x", Columns.ToString(CultureInfo.InvariantCulture), "-y", Rows.ToString(CultureInfo.InvariantCulture) };
        foreach (var (name, value) in environment)
        {
            arguments.Add("-e");
            arguments.Add($"{name}={value}");
        }

        // When the app exits, its last screen and exit code stay visible to the test instead of the window closing.
        arguments.Add($"{command}; echo \"[exited with $?]\"; sleep 600");
        await terminal.TmuxAsync([.. arguments]);
        var pid = await terminal.TmuxAsync("display-message", "-p", "-t", "main", "#{pane_pid}");
        terminal._panePid = int.Parse(pid.Trim(), CultureInfo.InvariantCulture);
        return terminal;
    }

    /// <summary>Keys by tmux's names: <c>Enter</c>, <c>Tab</c>, <c>M-a</c> (Alt+A), <c>F5</c>.</summary>
    public Task SendKeysAsync(params string[] keys) => TmuxAsync(["send-keys", "-t", "main", .. keys]);

    /// <summary>Text typed as it is (no key names).</summary>
    public Task TypeAsync(string text) => TmuxAsync("send-keys", "-t", "main", "-l", text);

    public async Task<string> CaptureAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var screen = await TmuxAsync("capture-pane", "-p", "-t", "main");
        CaptureTime += Stopwatch.GetElapsedTime(started);
        CaptureCount++;
        return screen;
    }

    /// <summary>
    /// Captures the screen again and again until <paramref name="condition"/> holds, for at most <paramref name="deadline"/>
    /// (default 30 s); fails with the last screen otherwise. <paramref name="tight"/>: no pause between captures (for
    /// measuring), so the resolution is one capture-pane round trip.
    /// </summary>
    public async Task<string> WaitForAsync(Func<string, bool> condition, string what, TimeSpan? deadline = null, bool tight = false)
    {
        var limit = Stopwatch.StartNew();
        var wait = deadline ?? TimeSpan.FromSeconds(30);
        while (true)
        {
            var screen = await CaptureAsync();
            if (condition(screen))
            {
                return screen;
            }

            if (limit.Elapsed > wait)
            {
                Assert.Fail($"The terminal did not show {what} within {wait.TotalSeconds:0} s. Last screen:\n{screen}");
            }

            if (!tight)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }
        }
    }

    public Task<string> WaitForTextAsync(string text, TimeSpan? deadline = null, bool tight = false) =>
        WaitForAsync(screen => screen.Contains(text, StringComparison.Ordinal), $"\"{text}\"", deadline, tight);

    public async ValueTask DisposeAsync()
    {
        if (_panePid is { } pid)
        {
            try
            {
                using var app = Process.GetProcessById(pid);
                app.Kill(entireProcessTree: true);
                await app.WaitForExitAsync(CancellationToken.None);
            }
            catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
            {
                // Already gone.
            }
        }

        try
        {
            await TmuxAsync("kill-server");
        }
        catch (InvalidOperationException)
        {
            // The server ended with its last window.
        }

        File.Delete(_socket);
    }

    private async Task<string> TmuxAsync(params string[] arguments)
    {
        // -f /dev/null: the machine's ~/.tmux.conf (key bindings, status line) has no say in what the test sees.
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["-S", _socket, "-f", "/dev/null", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("tmux could not be started.");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        await process.WaitForExitAsync(CancellationToken.None);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tessera.Testing;
using Xunit;

namespace Tessera.Samples.Desktop.Tests;

/// <summary>
/// Issue 12's target, measured (not asserted): from another device's "Sign out all devices" returning to the desktop
/// sample showing its dialog, seen in a real terminal by polling capture-pane. Each run also checks the dialog, the
/// sentence and the way back to sign-in, so the test fails on behaviour, never on time.
/// TESSERA_DESKTOP_LATENCY_RUNS sets the number of runs (default 10, to keep the suite short; docs/performance.md
/// says how many were made for the figures there).
/// </summary>
public sealed class LatencyTests : IAsyncLifetime
{
    private const string Sentence = "You signed out of all devices.";

    private readonly LoopbackTesseraServer _server = new();
    private DesktopSample? _sample;

    public LatencyTests() => _server.Start();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_sample is not null)
        {
            await _sample.DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    [Fact]
    public async Task SignOutAllOnAnotherDevice_ToTheSamplesDialog()
    {
        var runs = int.TryParse(Environment.GetEnvironmentVariable("TESSERA_DESKTOP_LATENCY_RUNS"), CultureInfo.InvariantCulture, out var wanted) && wanted > 0 ? wanted : 10;
        var api = new TesseraApi(_server);
        var email = await api.RegisterAsync("Hedy");
        _sample = await DesktopSample.StartAsync(_server.BaseUrl);
        var terminal = _sample.Terminal;
        var latencies = new List<double>(runs);
        var captures = 0;
        var captureTime = TimeSpan.Zero;
        var started = Stopwatch.StartNew();
        // Run 0 is a warm-up (the sample's first dialog, JIT): checked like the others, not counted.
        for (var run = 0; run <= runs; run++)
        {
            var phone = await api.SignInPhoneAsync(email);
            await _sample.SignInAsync(run == 0 ? email : null, LoopbackTesseraServer.Password);
            await _sample.WaitUntilLiveAsync();

            await api.PostAsync(phone, "/v1/sessions/revoke-all");
            var returned = Stopwatch.GetTimestamp();
            var countBefore = terminal.CaptureCount;
            var timeBefore = terminal.CaptureTime;
            var dialog = await terminal.WaitForTextAsync(Sentence, tight: true);
            if (run > 0)
            {
                latencies.Add(Stopwatch.GetElapsedTime(returned).TotalMilliseconds);
                captures += terminal.CaptureCount - countBefore;
                captureTime += terminal.CaptureTime - timeBefore;
            }

            Assert.Contains("┥Session ended┝", dialog, StringComparison.Ordinal);

            await terminal.SendKeysAsync("Enter");
            await terminal.WaitForAsync(screen => screen.Contains("Password:", StringComparison.Ordinal) && !screen.Contains(Sentence, StringComparison.Ordinal),
                "the sign-in screen after the dialog");
        }

        latencies.Sort();
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Sign out all devices (another device, HTTP) returned -> the desktop sample's dialog on screen (tmux capture-pane), {runs} runs (after one warm-up) in {started.Elapsed.TotalSeconds:0} s, load average {LoadAverage()}:")
            .AppendLine(CultureInfo.InvariantCulture, $"  min {latencies[0]:0.0} ms, p50 {Percentile(latencies, 0.50):0.0} ms, p90 {Percentile(latencies, 0.90):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, max {latencies[^1]:0.0} ms")
            .AppendLine(CultureInfo.InvariantCulture, $"  polling resolution: one capture-pane round trip, {captureTime.TotalMilliseconds / Math.Max(1, captures):0.0} ms on average ({captures} captures while waiting)")
            .ToString();
        TestContext.Current.SendDiagnosticMessage(report);
        Console.WriteLine(report);
        Directory.CreateDirectory(Captures.Directory);
        await File.WriteAllTextAsync(Path.Combine(Captures.Directory, "latency.txt"), report, TestContext.Current.CancellationToken);
    }

    /// <summary>The machine's 1-minute load average (Linux), since the figures depend on what else runs.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}

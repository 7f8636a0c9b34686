using System.Diagnostics;
using System.Globalization;
using Tessera.RevocationLatency;

// Time from a revoke on node A to rejection on nodes B and C, and to the session.revoked event on a stream connected
// to C (issue 3). See bench/cluster/run.sh, which starts the cluster and runs this, and docs/performance.md.
//
//   dotnet run -c Release --project bench/Tessera.RevocationLatency -- \
//     --a http://127.0.0.1:5201 --b http://127.0.0.1:5202 --c http://127.0.0.1:5203 \
//     --admin-email admin@example.test [--count 1000] [--warmup 50] [--via user|admin] [--out samples.csv]
//   The admin password comes from TESSERA_ADMIN_PASSWORD (kept out of `ps`), or --admin-password.
if (!BenchOptions.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"revocation-latency: {error}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

// Pollers, the stream reader and the revoke run at once; threads must not have to be injected while measuring.
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

await using var cluster = new ClusterClients(options.A, options.B, options.C);
var setup = Stopwatch.StartNew();
Log.Info($"preparing {options.Warmup} warm-up and {options.Count} measured revocations ({options.Via} path) on A={options.A} B={options.B} C={options.C}");
var fixtures = await Fixtures.PrepareAsync(cluster, options, cancel.Token);
Log.Info($"{fixtures.Targets.Count} sessions of {fixtures.Users} users ready in {setup.Elapsed.TotalSeconds:F1} s");

var run = new RevocationRun(cluster, options);
var samples = new List<RevocationSample>(options.Count);
var started = Stopwatch.StartNew();
for (var i = 0; i < fixtures.Targets.Count; i++)
{
    cancel.Token.ThrowIfCancellationRequested();
    var warmup = i < options.Warmup;
    var sample = await run.MeasureAsync(i, fixtures.Targets[i], cancel.Token);
    if (!warmup)
    {
        samples.Add(sample);
    }

    if ((i + 1) % 100 == 0 || i + 1 == fixtures.Targets.Count)
    {
        Log.Info($"{i + 1}/{fixtures.Targets.Count} revocations ({(warmup ? "warm-up" : "measured")}), {started.Elapsed.TotalSeconds:F1} s");
    }
}

await Samples.WriteCsvAsync(options.Output, samples, cancel.Token);
Log.Info($"raw samples: {options.Output}");
var failed = Report.Print(Console.Out, samples, options);
return failed ? 1 : 0;

internal static class Log
{
    public static void Info(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[revocation-latency {DateTime.Now:HH:mm:ss}] {message}"));
}

using System.Diagnostics;
using System.Globalization;
using Tessera.RelyingLatency;

// Issue 10: from Tessera's revoking call returning to the relying app refusing the session and closing its WebSocket.
// For each of --count sessions (after --warmup not counted): open the app's WebSocket with the session's token (the
// app sends "open" once Tessera.AspNetCore follows the session), end the session at Tessera (DELETE
// /v1/admin/users/{id}/sessions/{id}, reason revoked_by_admin), note when that call returned, then at once send a
// request with the token to the app's authenticated endpoint (any 2xx is a session accepted after the call returned,
// which must never happen) and wait for the WebSocket's close frame (4001 revoked_by_admin). See bench/relying/run.sh
// and docs/performance.md ("Relying apps").
//
//   dotnet run -c Release --project bench/Tessera.RelyingLatency -- \
//     --tessera http://127.0.0.1:5191 --app http://127.0.0.1:5192 --admin-email admin@example.test \
//     [--count 1000] [--warmup 50] [--sessions-per-user 20] [--out samples.csv]
//   The admin password comes from TESSERA_ADMIN_PASSWORD (kept out of `ps`).
if (!Options.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"relying-latency: {error}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

using var clients = new Clients(options.Tessera, options.App);
var setup = Stopwatch.StartNew();
Log.Info($"preparing {options.Warmup} warm-up and {options.Count} measured revocations; Tessera {options.Tessera}, app {options.App}");
var fixtures = await Fixtures.PrepareAsync(clients, options, cancel.Token);
Log.Info($"{fixtures.Targets.Count} sessions of {fixtures.Users} users ready in {setup.Elapsed.TotalSeconds:F1} s");

var samples = new List<Sample>(options.Count);
var started = Stopwatch.StartNew();
for (var i = 0; i < fixtures.Targets.Count; i++)
{
    cancel.Token.ThrowIfCancellationRequested();
    var sample = await Measure.OneAsync(clients, fixtures.AdminToken, i, fixtures.Targets[i], cancel.Token);
    if (i >= options.Warmup)
    {
        samples.Add(sample);
    }

    if ((i + 1) % 100 == 0 || i + 1 == fixtures.Targets.Count)
    {
        Log.Info($"{i + 1}/{fixtures.Targets.Count} revocations ({(i < options.Warmup ? "warm-up" : "measured")}), {started.Elapsed.TotalSeconds:F1} s");
    }
}

if (options.Output is not null)
{
    await Report.WriteCsvAsync(options.Output, samples, cancel.Token);
    Log.Info($"raw samples: {options.Output}");
}

return Report.Print(Console.Out, samples, options) ? 1 : 0;

internal static class Log
{
    public static void Info(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[relying-latency {DateTime.Now:HH:mm:ss}] {message}"));
}

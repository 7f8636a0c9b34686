using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Tessera.Client;
using Tessera.Testing;

// Issue 12's target, for the client library a desktop app is built on: from "Sign out all devices" returning on one
// device to SessionEnded raised by the SessionWatcher of another device of the same person. The real server runs in
// this process on a loopback port; both devices reach it over HTTP. Results: docs/performance.md, "Desktop client".
//
//   dotnet run -c Release --project bench/Tessera.ClientLatency -- [--count 200] [--warmup 20]
namespace Tessera.ClientLatency;

// Not top-level statements: the server's own Program class must keep its name here.
internal static class Bench
{
    public static async Task<int> Main(string[] args)
    {
        // WebApplicationFactory finds the server's content root from the manifest beside this program.
        Directory.SetCurrentDirectory(AppContext.BaseDirectory);
        var count = ArgValue(args, "--count", 200);
        var warmup = ArgValue(args, "--warmup", 20);

        await using var server = new LoopbackTesseraServer();
        server.Start();
        var authority = new Uri(server.BaseUrl);
        var afterReturn = new List<double>(count);
        var afterCall = new List<double>(count);
        for (var run = 0; run < warmup + count; run++)
        {
            var email = $"u{Guid.NewGuid():N}@example.test";
            using (var anonymous = server.Api())
            {
                (await anonymous.PostAsJsonAsync("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password })).EnsureSuccessStatusCode();
            }

            using var desktop = NewClient(authority, "Desktop");
            using var phone = NewClient(authority, "Phone");
            await desktop.SignInAsync(email, LoopbackTesseraServer.Password);
            await phone.SignInAsync(email, LoopbackTesseraServer.Password);
            await using var watcher = desktop.CreateWatcher();
            var live = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var ended = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            watcher.StateChanged += (_, e) =>
            {
                if (e.Current == SessionWatcherState.Live)
                {
                    live.TrySetResult();
                }
            };
            watcher.SessionEnded += (_, _) => ended.TrySetResult(Stopwatch.GetTimestamp());
            watcher.Start();
            await live.Task.WaitAsync(TimeSpan.FromSeconds(10));

            var called = Stopwatch.GetTimestamp();
            await phone.EndAllSessionsAsync();
            var returned = Stopwatch.GetTimestamp();
            var raised = await ended.Task.WaitAsync(TimeSpan.FromSeconds(10));
            if (run >= warmup)
            {
                // Raised before the call returned counts as 0: the desktop knew no later than the phone.
                afterReturn.Add(Math.Max(0, Stopwatch.GetElapsedTime(returned, raised).TotalMilliseconds));
                afterCall.Add(Stopwatch.GetElapsedTime(called, raised).TotalMilliseconds);
            }
        }

        Console.WriteLine($"Sign out all devices -> SessionEnded on another device's watcher, {count} runs ({warmup} warm-up), {Environment.ProcessorCount} cores");
        Print("after the call returned", afterReturn);
        Print("after the call started ", afterCall);
        return 0;
    }

    private static TesseraClient NewClient(Uri authority, string name) => new(new TesseraClientOptions
    {
        Authority = authority,
        TokenStore = new MemoryTokenStore(),
        Device = new DeviceInfo(name, "desktop", "Linux"),
    });

    private static void Print(string what, List<double> samples)
    {
        samples.Sort();
        double At(double p) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(p * samples.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {what}: p50 {At(0.50):F2} ms, p90 {At(0.90):F2} ms, p99 {At(0.99):F2} ms, max {samples[^1]:F2} ms"));
    }

    private static int ArgValue(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }
}

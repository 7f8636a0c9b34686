using System.Diagnostics;
using System.Globalization;

namespace Tessera.Benchmarks;

/// <summary>
/// An A/B check for a machine too busy for sequential benchmarks: the variants run in alternating rounds within one
/// process, so a change in the machine's load hits them alike, and each round gives a paired ratio against the
/// first variant. Complements, does not replace, the BenchmarkDotNet figures.
/// <code>dotnet run -c Release --project bench/Tessera.Benchmarks -- interleaved [rounds]</code>
/// </summary>
public static class Interleaved
{
    private const int OperationsPerRound = 20_000;

    public static void Run(int rounds)
    {
        var checks = new SessionCheckBenchmarks();
        var parts = new SessionCheckPartsBenchmarks();
        var sha = new Sha256Benchmarks();
        checks.Setup();
        parts.Setup();
        try
        {
            Compare(rounds, "SHA-256 of a 32-byte secret",
                ("SHA256.HashData (as shipped)", () => sha.OneShotHashData()),
                ("per-thread IncrementalHash", () => sha.PerThreadIncrementalHash()));
            Compare(rounds, "cache-hit session check",
                ("SessionValidator.CheckAsync hit", () => checks.CacheHit().Holds ? 1 : 0),
                ("copy of the hit path, as shipped", () => parts.HitPathAsShipped().Holds ? 1 : 0),
                ("copy, with the SHA-256 (the hit before issue 15)", () => parts.HitPathWithSha256().Holds ? 1 : 0));
        }
        finally
        {
            parts.Cleanup();
            checks.Cleanup();
        }
    }

    private static void Compare(int rounds, string title, params (string Name, Func<int> Operation)[] variants)
    {
        var perOp = variants.Select(_ => new List<double>(rounds)).ToArray();
        var ratios = variants.Select(_ => new List<double>(rounds)).ToArray();
        var sink = 0;

        // Warm-up: let tiered compilation reach the optimised code.
        foreach (var (_, operation) in variants)
        {
            for (var i = 0; i < 200_000; i++)
            {
                sink += operation();
            }
        }

        var roundTimes = new double[variants.Length];
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < variants.Length; k++)
            {
                // Rotate the order so that no variant always runs first or last in a round.
                var v = (k + round) % variants.Length;
                var operation = variants[v].Operation;
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < OperationsPerRound; i++)
                {
                    sink += operation();
                }

                roundTimes[v] = Stopwatch.GetElapsedTime(started).TotalNanoseconds / OperationsPerRound;
            }

            for (var v = 0; v < variants.Length; v++)
            {
                perOp[v].Add(roundTimes[v]);
                ratios[v].Add(roundTimes[v] / roundTimes[0]);
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{title}: {rounds} interleaved rounds of {OperationsPerRound:N0} operations (sink {sink % 10})");
        Console.WriteLine($"| {"variant",-34} | {"median ns/op",12} | {"p10 ns/op",10} | {"p90 ns/op",10} | {"median paired ratio",19} |");
        Console.WriteLine($"|{new string('-', 36)}|{new string('-', 13)}:|{new string('-', 11)}:|{new string('-', 11)}:|{new string('-', 20)}:|");
        for (var v = 0; v < variants.Length; v++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {variants[v].Name,-34} | {Percentile(perOp[v], 0.5),12:F1} | {Percentile(perOp[v], 0.1),10:F1} | {Percentile(perOp[v], 0.9),10:F1} | {Percentile(ratios[v], 0.5),19:F3} |"));
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Round(p * (sorted.Length - 1))];
    }
}

using System.Globalization;
using BenchmarkDotNet.Running;
using Tessera.Benchmarks;

// dotnet run -c Release --project bench/Tessera.Benchmarks -- --filter '*'
//   the BenchmarkDotNet suite (add e.g. --job short for a quicker, less precise run; see docs/performance.md)
// dotnet run -c Release --project bench/Tessera.Benchmarks -- interleaved [rounds]
//   an interleaved A/B of the SHA-256 variants and the hit path, for busy machines (see Interleaved.cs)
// dotnet run -c Release --project bench/Tessera.Benchmarks -- memory [sessions]
//   managed heap per cached session, the cache as it is and a replica of the layout before issue 15 (CacheMemory.cs)
if (args is ["memory", .. var sizes])
{
    CacheMemory.Run(sizes is [var size] ? int.Parse(size, CultureInfo.InvariantCulture) : 200_000);
    return;
}

if (args is ["interleaved", .. var rest])
{
    Interleaved.Run(rest is [var rounds] ? int.Parse(rounds, CultureInfo.InvariantCulture) : 101);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

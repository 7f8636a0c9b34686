using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>One session check as the client saw it: when it was sent and answered (Stopwatch timestamps), and the answer.</summary>
public sealed record RecordedRequest(string Node, long Started, long Ended, int Status, string? Code, string? Reason);

/// <summary>
/// Loops GET /v1/auth/session with one token on some nodes, from several tasks per node, and records every request's
/// start, end and answer until stopped. Requests are never cancelled half way: each one started is recorded.
/// </summary>
public sealed class Hammer : IAsyncDisposable
{
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;

    public Hammer(string token, IEnumerable<TesseraNode> nodes, int tasksPerNode = 2)
    {
        _loops = nodes.SelectMany(node => Enumerable.Range(0, tasksPerNode).Select(_ => Task.Run(() => LoopAsync(node, token)))).ToArray();
    }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Waits until every node named has answered 200 at least <paramref name="count"/> times.</summary>
    public async Task WaitForAcceptedAsync(IEnumerable<TesseraNode> nodes, int count, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        var names = nodes.Select(n => n.Name).ToList();
        while (waited.Elapsed < timeout)
        {
            var snapshot = Requests;
            if (names.All(name => snapshot.Count(r => r.Node == name && r.Status == 200) >= count))
            {
                return;
            }

            await Task.Delay(20);
        }

        var summary = string.Join(", ", names.Select(name => $"{name}: " + string.Join(" ", Requests.Where(r => r.Node == name).GroupBy(r => r.Status).Select(g => $"{g.Key}×{g.Count()}"))));
        throw new TimeoutException($"The hammer did not see {count} accepted checks on every node within {timeout.TotalSeconds:0} s ({summary}).");
    }

    /// <summary>Waits until every node named has answered (anything) at least <paramref name="count"/> times; false when the time ran out.</summary>
    public async Task<bool> WaitForAnsweredAsync(IEnumerable<TesseraNode> nodes, int count, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        var names = nodes.Select(n => n.Name).ToList();
        while (waited.Elapsed < timeout)
        {
            var snapshot = Requests;
            if (names.All(name => snapshot.Count(r => r.Node == name) >= count))
            {
                return true;
            }

            await Task.Delay(20);
        }

        return false;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(90));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task LoopAsync(TesseraNode node, string token)
    {
        while (!_stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            var response = await node.WhoAmIAsync(token);
            var ended = Stopwatch.GetTimestamp();
            _requests.Enqueue(new RecordedRequest(node.Name, started, ended, response.Status, response.Code, response.Reason));
        }
    }
}

/// <summary>Milliseconds between Stopwatch timestamps, for reports.</summary>
public static class Ms
{
    public static double Between(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    public static double Since(long from) => Between(from, Stopwatch.GetTimestamp());
}

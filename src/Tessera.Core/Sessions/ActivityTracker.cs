using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core.Caching;
using Tessera.Core.Options;
using Tessera.Core.Storage;

namespace Tessera.Core.Sessions;

/// <summary>
/// Keeps sessions' last-active times in memory and hands them to the store in batches: a session check never
/// writes. The in-memory time is what the idle timeout is measured against, so sliding expiry is exact on the
/// node that saw the activity; the store catches up within one flush interval.
/// </summary>
public sealed class ActivityTracker(IOptions<TesseraOptions> options)
{
    private readonly ConcurrentDictionary<string, long> _pending = new(StringComparer.Ordinal);

    // The times the last flush wrote, kept until the next one: a reader that read a session from the store just before
    // that flush committed, and asks here just after it, must still get the newer time (a session list once came back
    // in the wrong order when a flush ran between the two steps).
    private readonly ConcurrentDictionary<string, long> _lastWritten = new(StringComparer.Ordinal);
    private readonly TimeSpan _granularity = options.Value.Sessions.ActivityGranularity;

    /// <summary>Records activity on the hot path; allocation-free unless the time moved by a whole step.</summary>
    public void Touch(CachedSession entry, DateTimeOffset now)
    {
        if (entry.TryAdvanceLastActive(now, _granularity))
        {
            _pending[entry.Id] = now.UtcTicks;
        }
    }

    /// <summary>
    /// The newest last-active time of a session: the unflushed one, or the one the last flush wrote, when it is ahead of
    /// the one read from the store.
    /// </summary>
    public DateTimeOffset LastActiveAt(Session session)
    {
        var newest = session.LastActiveAt.UtcTicks;
        if (_pending.TryGetValue(session.Id, out var pending) && pending > newest)
        {
            newest = pending;
        }

        if (_lastWritten.TryGetValue(session.Id, out var written) && written > newest)
        {
            newest = written;
        }

        return new DateTimeOffset(newest, TimeSpan.Zero);
    }

    public int PendingCount => _pending.Count;

    /// <summary>
    /// How many times one write transaction of a flush carries. A node that a million sessions were active on has that
    /// many to write; in one transaction that held the store's writer for seconds, and a revoke (a bulk deactivation's
    /// batch, a ban) waited behind it. Between batches every waiting access change gets its turn.
    /// </summary>
    internal int FlushBatchSize { get; set; } = 1_000;

    /// <summary>
    /// Writes every pending time, <see cref="FlushBatchSize"/> a transaction. Times recorded meanwhile stay for the next
    /// flush; a batch that fails leaves its times and the later ones pending.
    /// </summary>
    public async Task FlushAsync(ITesseraStore store, CancellationToken cancellationToken)
    {
        // Written one flush interval ago: every read of the store since then has them.
        _lastWritten.Clear();
        if (_pending.IsEmpty)
        {
            return;
        }

        foreach (var batch in _pending.ToArray().Chunk(FlushBatchSize))
        {
            await using (var transaction = await store.BeginWriteAsync(cancellationToken).ConfigureAwait(false))
            {
                await transaction.Sessions.TouchAsync(
                    Array.ConvertAll(batch, p => new SessionActivity(p.Key, new DateTimeOffset(p.Value, TimeSpan.Zero))),
                    cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            foreach (var written in batch)
            {
                _lastWritten[written.Key] = written.Value;

                // Only removes the entry if no newer time arrived while writing.
                _pending.TryRemove(written);
            }
        }
    }
}

/// <summary>Flushes last-active times on a timer and once more at shutdown; sweeps dead cache entries as it goes.</summary>
public sealed partial class ActivityFlusher(
    ActivityTracker tracker,
    SessionCache cache,
    ITesseraStore store,
    TimeProvider clock,
    IOptions<TesseraOptions> options,
    ILogger<ActivityFlusher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sessions = options.Value.Sessions;
        using var timer = new PeriodicTimer(sessions.ActivityFlushInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false);
                cache.Sweep(clock.GetUtcNow(), sessions.IdleTimeout);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await tracker.FlushAsync(store, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The times stay pending and go out with the next flush.
            LogFlushFailed(logger, exception, tracker.PendingCount);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} last-active times failed; they will be retried.")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception, int count);
}

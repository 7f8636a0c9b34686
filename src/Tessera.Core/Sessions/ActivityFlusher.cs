using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core.Caching;
using Tessera.Core.Options;
using Tessera.Core.Storage;

namespace Tessera.Core.Sessions;

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

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core.Options;
using Tessera.Core.Storage;

namespace Tessera.Core.Sessions;

/// <summary>
/// Deletes sessions that ended more than <see cref="SessionOptions.RetainEndedFor"/> ago (revoked, past their
/// absolute end, or idle too long), once an hour, a batch per transaction so that no write waits long behind it. Every
/// node may run it: the stores skip rows another purge holds. A session that still holds is never deleted (it ended
/// in none of those ways), and every revocation stays in the audit log.
/// </summary>
public sealed partial class SessionRetention(
    ITesseraStore store, TimeProvider clock, IOptions<TesseraOptions> options, ILogger<SessionRetention> logger) : BackgroundService
{
    /// <summary>Sessions deleted per transaction.</summary>
    public const int BatchSize = 1_000;

    /// <summary>How often the purge runs (the first time one interval after start).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>Deletes every session that ended before the retention period; returns how many.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var sessions = options.Value.Sessions;
        if (sessions.RetainEndedFor <= TimeSpan.Zero)
        {
            return 0;
        }

        var endedBefore = clock.GetUtcNow() - sessions.RetainEndedFor;
        var total = 0;
        int deleted;
        do
        {
            await using var transaction = await store.BeginWriteAsync(cancellationToken).ConfigureAwait(false);
            deleted = await transaction.Sessions.PurgeEndedAsync(endedBefore, sessions.IdleTimeout, BatchSize, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            total += deleted;
        }
        while (deleted == BatchSize);

        if (total > 0)
        {
            LogPurged(total, endedBefore);
        }

        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Sessions.RetainEndedFor <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await PurgeAsync(stoppingToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // A failed purge (the store briefly unreachable) is tried again at the next interval.
                catch (Exception exception) when (exception is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    LogPurgeFailed(exception);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} session(s) that ended before {EndedBefore:O}")]
    private partial void LogPurged(int count, DateTimeOffset endedBefore);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting ended sessions failed; trying again in an hour")]
    private partial void LogPurgeFailed(Exception exception);
}

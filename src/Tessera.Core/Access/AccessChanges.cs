using System.Diagnostics;
using Tessera.Core.Diagnostics;
using Tessera.Core.Invalidations;
using Tessera.Core.Storage;

namespace Tessera.Core.Access;

/// <summary>
/// The one way access changes are made: the change and its audit events in one write transaction, then, once it
/// has committed, an invalidation for every user it touched. When <see cref="ApplyAsync{TResult}"/> returns, the
/// change is durable and no node holds a copy that contradicts it.
/// </summary>
public sealed class AccessChanges(ITesseraStore store, IInvalidationBus bus, TesseraMetrics metrics, TimeProvider clock)
{
    public async Task<TResult> ApplyAsync<TResult>(Func<AccessChange, Task<TResult>> change, CancellationToken cancellationToken)
    {
        AccessChange context;
        TResult result;
        var started = Stopwatch.GetTimestamp();
        await using (var transaction = await store.BeginWriteAsync(cancellationToken).ConfigureAwait(false))
        {
            context = new AccessChange(transaction, clock);
            result = await change(context).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        metrics.AccessChangeStored(Stopwatch.GetElapsedTime(started));
        foreach (var (reason, count) in context.RevokedCounts)
        {
            metrics.SessionsRevoked(reason, count);
        }

        // The change is committed: tell every node even if the caller has gone away meanwhile, and send every
        // invalidation even if one cannot be confirmed, so that each reaches as far as it can.
        List<Exception>? failures = null;
        var publishing = Stopwatch.GetTimestamp();
        var publishedAny = false;
        foreach (var invalidation in context.Invalidations)
        {
            publishedAny = true;
            try
            {
                await bus.PublishAsync(invalidation, CancellationToken.None).ConfigureAwait(false);
            }
            catch (InvalidationNotConfirmedException notConfirmed)
            {
                (failures ??= []).Add(notConfirmed);
            }
        }

        if (publishedAny)
        {
            metrics.AccessChangePublished(Stopwatch.GetElapsedTime(publishing));
        }

        if (failures is not null)
        {
            throw failures.Count == 1
                ? failures[0]
                : new InvalidationNotConfirmedException("The change is saved but could not be confirmed on every node.", new AggregateException(failures));
        }

        return result;
    }
}

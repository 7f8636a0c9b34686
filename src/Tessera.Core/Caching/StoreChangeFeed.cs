using Microsoft.Extensions.Hosting;
using Tessera.Core.Invalidations;

namespace Tessera.Core.Caching;

/// <summary>
/// A feed of the changes committed to the store by anyone (Tessera, an operator's SQL, a script), turned into
/// invalidations for this node's <see cref="IInvalidationHandler"/>s: the PostgreSQL change listener and the SQLite
/// change watcher are the two. What they share is the rule: the <see cref="SessionCache"/> is distrusted (emptied, read
/// through to the store) from the start until the feed is following the store, and again the moment it may have
/// missed a change; the feed starts over with backoff and trusts the cache again only once it follows once more.
/// Changes committed while nobody followed cannot be in the cache: it was emptied, and keeps nothing while distrusted.
/// </summary>
public abstract class StoreChangeFeed : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly string _trustSource;
    private readonly IInvalidationHandler[] _handlers;
    private volatile bool _following;

    /// <param name="trustSource">How the feed names itself when it distrusts the cache.</param>
    /// <param name="handlers">Every handler on this node; the session cache is normally one of them.</param>
    /// <param name="cache">The cache to distrust while changes may be missed.</param>
    /// <param name="clock">The clock of the retries.</param>
    protected StoreChangeFeed(string trustSource, IEnumerable<IInvalidationHandler> handlers, SessionCache cache, TimeProvider? clock)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        ArgumentNullException.ThrowIfNull(cache);
        _trustSource = trustSource;
        _handlers = [.. handlers];
        Cache = cache;
        Clock = clock ?? TimeProvider.System;
    }

    /// <summary>True while the feed follows the store (and so the cache may be trusted).</summary>
    protected bool IsFollowing => _following;

    protected SessionCache Cache { get; }

    protected TimeProvider Clock { get; }

    /// <summary>100 ms, doubling up to 5 s.</summary>
    public static TimeSpan RetryDelay(int attempt)
    {
        var delay = FirstRetryDelay * Math.Pow(2, Math.Min(attempt - 1, 16));
        return delay < MaxRetryDelay ? delay : MaxRetryDelay;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Nothing followed yet: nothing may be served from memory.
        SetFollowing(false, force: true);
        OnStarting();
        var attempt = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Exception failure;
                try
                {
                    await FollowAsync(stoppingToken).ConfigureAwait(false);
                    return; // Only ends when stopping.
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // Whatever broke the feed, the answer is the same: distrust, start over.
                catch (Exception exception)
#pragma warning restore CA1031
                {
                    failure = exception;
                    if (_following)
                    {
                        // At once, before anything else: from now on a change may go unseen.
                        SetFollowing(false);
                        OnLost(exception);
                        attempt = 0;
                    }
                }

                attempt++;
                var delay = RetryDelay(attempt);
                OnRetry(failure, attempt, delay);
                await Task.Delay(delay, Clock, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Nobody follows any more: whatever still runs on this node reads through to the store.
            SetFollowing(false);
            OnStopped();
        }
    }

    /// <summary>
    /// Connects, calls <see cref="SetFollowing"/> with true once every change committed from then on will be seen, and
    /// hands them to <see cref="Dispatch"/> until <paramref name="stoppingToken"/> is cancelled; throws when it may have
    /// missed one.
    /// </summary>
    protected abstract Task FollowAsync(CancellationToken stoppingToken);

    /// <summary>Before the first attempt.</summary>
    protected virtual void OnStarting()
    {
    }

    /// <summary>The feed was following and failed; the cache is distrusted already.</summary>
    protected abstract void OnLost(Exception exception);

    /// <summary>An attempt failed; the next one comes after <paramref name="delay"/>.</summary>
    protected abstract void OnRetry(Exception exception, int attempt, TimeSpan delay);

    /// <summary>The feed stopped; the cache is distrusted already.</summary>
    protected abstract void OnStopped();

    /// <summary>A handler threw on <paramref name="invalidation"/>; the others still got it.</summary>
    protected abstract void OnHandlerFailed(Exception exception, Invalidation invalidation);

    /// <summary>Called with the new state whenever the cache is trusted or distrusted by this feed.</summary>
    protected virtual void OnFollowingChanged(bool following)
    {
    }

    /// <summary>Hands one change to every handler; one that throws does not stop the others or the feed.</summary>
    protected void Dispatch(Invalidation invalidation)
    {
        t_dispatching = true;
        try
        {
            foreach (var handler in _handlers)
            {
                try
                {
                    handler.Handle(invalidation);
                }
#pragma warning disable CA1031 // Handlers must not throw; one that does must not stop the others or the feed.
                catch (Exception exception)
#pragma warning restore CA1031
                {
                    OnHandlerFailed(exception, invalidation);
                }
            }
        }
        finally
        {
            t_dispatching = false;
        }
    }

    [ThreadStatic]
    private static bool t_dispatching;

    /// <summary>
    /// True while a handler runs for an invalidation this feed read from the store, rather than one published by a call on
    /// some node. Tessera's own commits come back through the feed too: a handler that announces invalidations to others
    /// (the revocation stream) tells the read-back of a change it already announced from a change made outside Tessera.
    /// </summary>
    public static bool IsDispatching => t_dispatching;

    /// <summary>Trusts the cache (the feed follows every change from now on) or distrusts it.</summary>
    protected void SetFollowing(bool following, bool force = false)
    {
        if (!force && _following == following)
        {
            return;
        }

        if (following)
        {
            Cache.Trust(_trustSource);
        }
        else
        {
            Cache.Distrust(_trustSource);
        }

        _following = following;
        OnFollowingChanged(following);
    }
}

namespace Tessera.Core.Options;

/// <summary>How long sessions live, and what a node keeps of them (<c>Tessera:Sessions</c>).</summary>
public sealed class SessionOptions
{
    /// <summary>A session unused this long expires (sliding).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromDays(7);

    /// <summary>No session lives longer than this, however active.</summary>
    public TimeSpan AbsoluteLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often in-memory last-active times are written to the store.</summary>
    public TimeSpan ActivityFlushInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The default <see cref="CacheCapacity"/>: a million sessions, about 0.45 GB of managed heap when full.</summary>
    public const int DefaultCacheCapacity = 1_000_000;

    /// <summary>
    /// How many sessions a node keeps in memory; beyond it, checks read through to the store (a few hundred
    /// microseconds each instead of well under one). A cached session costs about 450 bytes of managed heap with its share
    /// of its user (docs/performance.md, "Scale (issue 15)"), so the default million holds every live session of a large
    /// deployment in under half a gigabyte; lower it on a small host, raise it beside the memory it needs. Entries
    /// leave the cache when they end or idle out (swept every flush interval), not when it is full: a full cache keeps
    /// what it has and answers the rest from the store.
    /// </summary>
    public int CacheCapacity { get; set; } = DefaultCacheCapacity;

    /// <summary>
    /// How long a session that ended (revoked or expired) stays in the store before it is deleted; zero keeps them
    /// forever. The audit log keeps its own record of how each one ended.
    /// </summary>
    public TimeSpan RetainEndedFor { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Event streams (<c>/v1/events</c>) one session may hold open on a node at once.</summary>
    public int MaxEventStreamsPerSession { get; set; } = 10;

    /// <summary>Event streams one user may hold open on a node at once, over all their sessions.</summary>
    public int MaxEventStreamsPerUser { get; set; } = 50;

    /// <summary>Last-active moves in steps of at most a minute, finer when the idle timeout is short.</summary>
    public TimeSpan ActivityGranularity =>
        IdleTimeout / 20 < TimeSpan.FromMinutes(1) ? IdleTimeout / 20 : TimeSpan.FromMinutes(1);
}

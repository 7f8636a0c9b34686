using Microsoft.Extensions.Options;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Options;

namespace Tessera.Core.Sessions;

/// <summary>The outcome of a session check: the verdict and, when the token named a session, that session.</summary>
public readonly record struct SessionCheck(SessionVerdict Verdict, CachedSession? Entry)
{
    public static readonly SessionCheck Unauthenticated = new(SessionVerdict.Unauthenticated, null);

    public bool Holds => Verdict.Holds;
}

/// <summary>Whether a check is the session being used (it slides the idle timeout) or only watched.</summary>
public enum SessionUse
{
    /// <summary>A request made with the session: moves its last-active time.</summary>
    Activity,

    /// <summary>A look by the server itself (an open event stream checking again): leaves last-active as it is.</summary>
    Watch,
}

/// <summary>
/// Answers "does this token's session hold?" on every request. A hit in the node's cache costs a BLAKE3 of the
/// token's secret, one dictionary lookup and a clock read, allocates nothing and does no I/O; a miss reads the store
/// once and fills the cache.
/// <para>One answer from memory is checked against the store before it is given: "idle too long". In a cluster a
/// session may be in use on another node, whose activity reaches this node only through the store (written behind
/// in batches), so a cached last-active time can lag; the store's is taken before the session is called expired.</para>
/// </summary>
public sealed class SessionValidator(
    SessionCache cache,
    ISessionSource source,
    StoreSessionSource store,
    ActivityTracker activity,
    TimeProvider clock,
    TesseraMetrics metrics,
    IOptions<TesseraOptions> options)
{
    private readonly TimeSpan _idleTimeout = options.Value.Sessions.IdleTimeout;

    public ValueTask<SessionCheck> CheckAsync(string? token, CancellationToken cancellationToken = default) =>
        CheckAsync(token, SessionUse.Activity, cancellationToken);

    /// <summary>
    /// The same check; with <see cref="SessionUse.Watch"/> it does not count as activity, so that an open event stream
    /// looking again on its own (a forgotten tab) does not keep an idle session alive.
    /// </summary>
    public ValueTask<SessionCheck> CheckAsync(string? token, SessionUse use, CancellationToken cancellationToken = default)
    {
        Span<byte> secret = stackalloc byte[SecretTokens.SecretBytes];
        if (!SecretTokens.TryDecode(token, secret))
        {
            metrics.SessionChecked(SessionVerdictKind.Unauthenticated);
            return new(SessionCheck.Unauthenticated);
        }

        // The cache is keyed by the secret's BLAKE3; the SHA-256 the store is keyed by is computed only when the store
        // is read (docs/security.md, "Session tokens").
        var key = SecretTokens.Key(secret);
        if (cache.TryGet(key, out var entry))
        {
            metrics.CacheHit();
            var now = clock.GetUtcNow();
            var verdict = Evaluate(entry, now);
            if (verdict.Kind == SessionVerdictKind.Expired && now < entry.AbsoluteExpiresAt)
            {
                return LoadAndCheckAsync(key, SecretTokens.Hash(secret), store, use, cancellationToken);
            }

            return new(Conclude(entry, verdict, now, use));
        }

        metrics.CacheMiss();
        return LoadAndCheckAsync(key, SecretTokens.Hash(secret), source, use, cancellationToken);
    }

    private async ValueTask<SessionCheck> LoadAndCheckAsync(
        TokenKey key, TokenHash tokenHash, ISessionSource from, SessionUse use, CancellationToken cancellationToken)
    {
        var epoch = cache.Epoch;
        var found = await from.FindAsync(tokenHash, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            metrics.SessionChecked(SessionVerdictKind.Unauthenticated);
            return SessionCheck.Unauthenticated;
        }

        var entry = cache.Add(key, found.Session, found.User, activity.LastActiveAt(found.Session), epoch);
        var now = clock.GetUtcNow();
        return Conclude(entry, Evaluate(entry, now), now, use);
    }

    private SessionVerdict Evaluate(CachedSession entry, DateTimeOffset now) =>
        SessionRule.Evaluate(entry.IsRevoked, entry.RevokeReason, entry.AbsoluteExpiresAt, entry.LastActiveAt, entry.User.User, now, _idleTimeout);

    private SessionCheck Conclude(CachedSession entry, SessionVerdict verdict, DateTimeOffset now, SessionUse use)
    {
        metrics.SessionChecked(verdict.Kind);
        if (verdict.Holds && use == SessionUse.Activity)
        {
            activity.Touch(entry, now);
        }

        return new(verdict, entry);
    }
}

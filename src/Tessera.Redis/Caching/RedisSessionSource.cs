using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Redis.Membership;

namespace Tessera.Redis.Caching;

/// <summary>
/// The shared session cache: where a node looks, on a miss in its own memory, before it reads the store. An entry is
/// one key per token hash (<c>{prefix}:{s:&lt;hash&gt;}</c>), read and written with single-key commands, so it lives
/// on whichever Redis Cluster shard owns its slot. Nothing deletes entries when sessions change: every node decides
/// for itself whether an entry was read after every change it knows of (<see cref="SharedEntryGate"/>), and entries
/// age out after <see cref="RedisClusterOptions.SharedCacheLifetime"/>.
/// <para>It is used only while this node serves from its own cache (trusted and within its lease); a fenced node
/// reads the store, as it must. Any Redis error is a miss, never a failure: the store answers.</para>
/// </summary>
internal sealed partial class RedisSessionSource(
    StoreSessionSource store,
    SessionCache cache,
    LocalNode node,
    ILogger<RedisSessionSource> logger) : ISessionSource
{
    private static readonly RedisValue[] StampFields = ["inc", "tick"];
    private long _seenResets = cache.Resets;

    public async Task<SessionWithUser?> FindAsync(TokenHash tokenHash, CancellationToken cancellationToken)
    {
        var lifetime = node.Options.SharedCacheLifetime;
        if (lifetime <= TimeSpan.Zero || !Usable())
        {
            return await store.FindAsync(tokenHash, cancellationToken).ConfigureAwait(false);
        }

        var key = node.Keys.SharedSession(tokenHash);
        RedisValue[] stamp;
        try
        {
            // Both go out together; the tick is read before the store is, which is what dates a fill below.
            var database = node.Database;
            var entryRead = database.StringGetAsync(key);
            var stampRead = database.HashGetAsync(node.Keys.BusSequence, StampFields);
            await Task.WhenAll(entryRead, stampRead).WaitAsync(node.Options.OperationTimeout, node.Clock, cancellationToken).ConfigureAwait(false);
            stamp = stampRead.Result;
            if (SharedSessionEntry.TryRead(entryRead.Result) is { } entry
                && node.Gate.MayServe(entry.UserId, entry.Inc, entry.Tick)
                && entry.ToSessionWithUser(tokenHash) is { } shared)
            {
                node.State.SharedCacheHit();
                return shared;
            }
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            node.State.SharedCacheError();
            LogReadFailed(exception.GetType().Name, exception.Message);
            return await store.FindAsync(tokenHash, cancellationToken).ConfigureAwait(false);
        }

        node.State.SharedCacheMiss();
        var found = await store.FindAsync(tokenHash, cancellationToken).ConfigureAwait(false);
        if (found is not null && !stamp[0].IsNullOrEmpty && stamp[1].TryParse(out long tick))
        {
            var ttl = found.Session.AbsoluteExpiresAt - node.Clock.GetUtcNow();
            ttl = ttl < lifetime ? ttl : lifetime;
            if (ttl > TimeSpan.Zero)
            {
                // Not awaited: the request has its answer, and a fill that is lost is only a later miss.
                _ = node.Database.StringSetAsync(key, SharedSessionEntry.Serialize(found, stamp[0]!, tick), ttl, flags: CommandFlags.FireAndForget);
            }
        }

        return found;
    }

    /// <summary>
    /// Whether this node serves from memory now. The PostgreSQL listener distrusts or empties the cache when it may have
    /// missed changes; either one also closes the gate until a ping sent afterwards is back.
    /// </summary>
    private bool Usable()
    {
        var resets = cache.Resets;
        if (resets != Interlocked.Read(ref _seenResets))
        {
            node.Gate.MarkAll(node.Now);
            Interlocked.Exchange(ref _seenResets, resets);
            return false;
        }

        return cache.IsTrusted && cache.WithinLease() && node.Gate.IsOpen;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The shared session cache could not be read ({Type}: {Message}); reading the store")]
    private partial void LogReadFailed(string type, string message);
}

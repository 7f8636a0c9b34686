using System.Collections.Concurrent;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;

namespace Tessera.Core.Clients;

/// <summary>
/// Service clients as last read from the store, so that a relying app's introspection or acknowledgement does not pay a
/// store read for its own credentials. A change made through Tessera (a rotation, a disable) is published like any
/// access change (<see cref="Invalidation.ForClient"/>) and drops the copy on every node before the call returns; a copy
/// is used only while the node's session cache is trusted, by the same proofs (the cluster fence, the store's change
/// feed), and is forgotten whenever that cache is distrusted or emptied. A change written straight into the
/// <c>service_clients</c> table announces nothing, so no copy is older than <see cref="Lifetime"/>.
/// </summary>
public sealed class ServiceClientCache(SessionCache sessions, TimeProvider clock) : IInvalidationHandler
{
    /// <summary>The longest a copy is used: how soon a change made straight in SQL holds.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly long _lifetimeTicks = (long)(Lifetime.TotalSeconds * clock.TimestampFrequency);
    private long _epoch;

    /// <summary>Changes with every client invalidation; read it before the store and pass it to <see cref="Add"/>.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>The client's copy when one may be used now.</summary>
    public bool TryGet(string clientId, out ServiceClient client)
    {
        if (_byId.TryGetValue(clientId, out var entry)
            && entry.Resets == sessions.Resets
            && clock.GetTimestamp() - entry.ReadAt < _lifetimeTicks
            && sessions.IsTrusted && sessions.WithinLease() && sessions.IsCurrent())
        {
            client = entry.Client;
            return true;
        }

        client = null!;
        return false;
    }

    /// <summary>Keeps a client read from the store, unless a client changed since <paramref name="epochBeforeRead"/>.</summary>
    public void Add(ServiceClient client, long epochBeforeRead)
    {
        ArgumentNullException.ThrowIfNull(client);
        var entry = new Entry(client, clock.GetTimestamp(), sessions.Resets);
        _byId[client.Id] = entry;

        // An invalidation that raced the read may have missed this entry: drop it again rather than keep what it contradicts.
        if (Epoch != epochBeforeRead)
        {
            _byId.TryRemove(new KeyValuePair<string, Entry>(client.Id, entry));
        }
    }

    public void Handle(Invalidation invalidation)
    {
        if (invalidation.ClientId is { } clientId)
        {
            Interlocked.Increment(ref _epoch);
            _byId.TryRemove(clientId, out _);
        }
    }

    private sealed record Entry(ServiceClient Client, long ReadAt, long Resets);
}

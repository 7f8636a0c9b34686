using StackExchange.Redis;
using Tessera.Redis.Caching;

namespace Tessera.Redis.Internal;

/// <summary>
/// Every key and channel Tessera uses in Redis. Keys that one script touches together share a hash tag, so that the
/// layout works on Redis Cluster: the bus's sequence and the membership hash are read in the same script as the
/// PUBLISH (<c>{bus}</c>); throttle counters are tagged per IP and per account.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>Hash: node id → the Redis time (unix ms) of its last heartbeat.</summary>
    public RedisKey Nodes { get; } = $"{prefix}:{{bus}}:nodes";

    /// <summary>Hash: <c>inc</c> (this Redis's incarnation: a GUID that a restart without data replaces) and <c>seq</c>.</summary>
    public RedisKey BusSequence { get; } = $"{prefix}:{{bus}}:seq";

    public RedisChannel Invalidations { get; } = RedisChannel.Literal($"{prefix}:invalidations");

    public RedisChannel Acks(string nodeId) => RedisChannel.Literal($"{Prefix}:acks:{nodeId}");

    public RedisChannel Ping(string nodeId) => RedisChannel.Literal($"{Prefix}:ping:{nodeId}");

    /// <summary>Every node's: confirmation rounds for relying apps (<c>inc|seq|{"id","origin"}</c>); answers go to <see cref="Acks"/>.</summary>
    public RedisChannel Rounds { get; } = RedisChannel.Literal($"{prefix}:rounds");

    /// <summary>One node's: relying apps' acknowledgements that reached another node, for a stream this node holds.</summary>
    public RedisChannel AppAcks(string nodeId) => RedisChannel.Literal($"{Prefix}:app-acks:{nodeId}");

    /// <summary>String: a <see cref="SharedSessionEntry"/>; tagged by its own token hash (single-key commands only).</summary>
    public RedisKey SharedSession(Tessera.Core.Sessions.TokenHash tokenHash) => $"{Prefix}:{{s:{tokenHash}}}";

    /// <summary>String: attempts at a throttled action (<c>logins</c>, <c>registrations</c>, …) from one IP in the current window.</summary>
    public RedisKey IpAttempts(string action, string clientIp) => $"{Prefix}:{{ip:{clientIp}}}:{action}";

    /// <summary>String: attempts at a throttled action for one account in the current window.</summary>
    public RedisKey AccountAttempts(string action, string accountKey) => $"{Prefix}:{{acct:{accountKey}}}:{action}";

    /// <summary>Hash: <c>count</c> and <c>last</c> (unix ms) of an account's failed attempts at a throttled action.</summary>
    public RedisKey AccountFailures(string action, string accountKey) => $"{Prefix}:{{acct:{accountKey}}}:{action}:failures";
}
